/**
 * The Wing–Gong search with Lowe's state cache, for the operations on one key: walk the
 * time-ordered list of invocation and return events; at an invocation, try to linearize that
 * operation now (the model must allow its answer) and lift it out of the list; at a return of
 * an operation not yet linearized, undo the latest choice and try the next one. A
 * configuration already seen (the set of linearized operations and the state) is never
 * explored twice. Unknown-outcome operations return at +infinity and accept any answer, so
 * they take effect anywhere after their invocation, or (linearized last) in effect never.
 */
import type { HistoryOp } from './history.js';
import { ANY_STATE, type KeyState, stateKey, stepKey } from './kv-model.js';

/** Limits of one search: configurations visited and a wall-clock deadline (performance.now()). */
export interface SearchBudget {
  readonly stepsMax: number;
  readonly deadlineMs: number;
}

/** The outcome of one search. */
export type SearchOutcome =
  | { readonly verdict: 'ok'; readonly steps: number }
  | { readonly verdict: 'unknown'; readonly steps: number; readonly reason: string }
  | {
      readonly verdict: 'violation';
      readonly steps: number;
      /** The operation whose return was reached, on the deepest path, before it could be linearized. */
      readonly stuck: HistoryOp;
      /** The operations linearized on that deepest path, in order, and the state they left. */
      readonly deepest: readonly HistoryOp[];
      readonly deepestState: KeyState;
    };

interface Frame {
  readonly entry: number;
  readonly prevState: KeyState;
  readonly alt: number;
  /** The pass (0: known answers, 1: unknown outcomes) the choice was made in. */
  readonly pass: number;
  /** Taken greedily (see tryLinearize): backtracking passes over it. */
  readonly forced: boolean;
}

/** Searches for a linearization of `ops` (all on one key) starting from `initial`. */
export function searchKey(
  original: readonly HistoryOp[],
  initial: KeyState,
  budget: SearchBudget,
): SearchOutcome {
  // Reads whose outcome is unknown have no effect and constrain nothing.
  const kept = original.filter((o) => o.returnMs !== undefined || o.op.kind !== 'get');
  const ops = kept.map(abstractOp(kept));
  const n = ops.length;
  // Events: 2i = invocation of ops[i], 2i+1 = its return. Ordered by time, invocations first on ties.
  const events: number[] = [];
  for (let i = 0; i < n; i++) events.push(2 * i, 2 * i + 1);
  const timeOf = (e: number): number => {
    const o = ops[e >> 1]!;
    return e & 1 ? (o.returnMs ?? Number.POSITIVE_INFINITY) : o.invokeMs;
  };
  events.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);
  // A doubly linked list over event ids, with HEAD as sentinel.
  const HEAD = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = HEAD;
  for (const e of events) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  const lift = (call: number): void => {
    for (const e of [call, call + 1]) {
      const p = prev[e]!;
      const x = next[e]!;
      next[p] = x;
      if (x >= 0) prev[x] = p;
    }
  };
  const unlift = (call: number): void => {
    for (const e of [call + 1, call]) {
      const p = prev[e]!;
      const x = next[e]!;
      next[p] = e;
      if (x >= 0) prev[x] = e;
    }
  };

  const words = new Uint16Array(Math.max(1, Math.ceil(n / 16)));
  const setBit = (i: number): void => {
    words[i >> 4]! |= 1 << (i & 15);
  };
  const clearBit = (i: number): void => {
    words[i >> 4]! &= ~(1 << (i & 15));
  };
  const bitsKey = (): string => {
    let s = '';
    for (let i = 0; i < words.length; i += 4096) s += String.fromCharCode(...words.subarray(i, i + 4096));
    return s;
  };

  const seen = new Set<string>();
  const stack: Frame[] = [];
  let state = initial;
  let steps = 0;
  let deepest: readonly HistoryOp[] = [];
  let deepestState: KeyState = initial;
  let stuck: HistoryOp | undefined;

  const tryLinearize = (entry: number, fromAlt: number, atPass: number): boolean => {
    const o = ops[entry >> 1]!;
    const outs = stepKey(state, o.op, o.result);
    for (let a = fromAlt; a < outs.length; a++) {
      const ns = outs[a]!;
      setBit(entry >> 1);
      const key = `${bitsKey()}|${stateKey(ns)}`;
      if (seen.has(key)) {
        clearBit(entry >> 1);
        continue;
      }
      seen.add(key);
      // An answered operation that can never change the state (a read, a failed CAS, a delete
      // of nothing), allowed here, never needs to be undone: any linearization that takes it
      // later can take it now instead. (A put of an unseen value over an unseen value leaves
      // this state as it is, but not every state: it is not one of these.)
      // From ANY_STATE an observation does change the state (it pins it), so it is never forced.
      const forced = outs.length === 1 && state !== ANY_STATE && observesOnly(o);
      stack.push({ entry, prevState: state, alt: a, pass: atPass, forced });
      state = ns;
      lift(entry);
      return true;
    }
    return false;
  };

  // Two passes over the candidates (the invocations before the first return): operations with
  // a known answer first, then unknown-outcome ones, which are needed only to explain an answer.
  const unknown = (e: number): boolean => ops[e >> 1]!.returnMs === undefined;
  const signatures = ops.map((o) => (o.returnMs === undefined ? effectSignature(o) : ''));
  // Unknown-outcome candidates with the same effect are interchangeable: only the first in the list is tried.
  const shadowed = (e: number): boolean => {
    const sig = signatures[e >> 1]!;
    for (let x = next[HEAD]!; x !== e && x >= 0; x = next[x]!)
      if ((x & 1) === 0 && signatures[x >> 1] === sig) return true;
    return false;
  };
  let entry = next[HEAD]!;
  let pass = 0;
  for (;;) {
    if (next[HEAD]! < 0) return { verdict: 'ok', steps };
    steps++;
    if (steps > budget.stepsMax)
      return { verdict: 'unknown', steps, reason: `more than ${budget.stepsMax} steps` };
    if ((steps & 1023) === 0 && performance.now() > budget.deadlineMs)
      return { verdict: 'unknown', steps, reason: 'time budget exceeded' };
    if ((entry & 1) === 0) {
      if (
        unknown(entry) === (pass === 1) &&
        !(pass === 1 && shadowed(entry)) &&
        tryLinearize(entry, 0, pass)
      ) {
        entry = next[HEAD]!;
        pass = 0;
        continue;
      }
      entry = next[entry]!;
      continue;
    }
    if (pass === 0) {
      pass = 1;
      entry = next[HEAD]!;
      continue;
    }
    // A return whose operation is not linearized yet, every candidate tried: this path is dead.
    if (stuck === undefined || stack.length >= deepest.length) {
      stuck = kept[entry >> 1]!;
      deepest = stack.map((f) => kept[f.entry >> 1]!);
      deepestState = state;
    }
    for (;;) {
      const f = stack.pop();
      if (f === undefined) return { verdict: 'violation', steps, stuck: stuck!, deepest, deepestState };
      state = f.prevState;
      clearBit(f.entry >> 1);
      unlift(f.entry);
      if (f.forced) continue;
      if (tryLinearize(f.entry, f.alt + 1, f.pass)) {
        entry = next[HEAD]!;
        pass = 0;
        break;
      }
      entry = next[f.entry]!;
      pass = f.pass;
      break;
    }
  }
}

/** Stands for every written value that no answer ever shows: such values are indistinguishable. */
const UNSEEN = '\u0000unseen';

/**
 * Replaces written values that nothing observes (no read returns them, no CAS expects them)
 * by UNSEEN, so configurations that differ only in such a value are one configuration.
 */
function abstractOp(ops: readonly HistoryOp[]): (o: HistoryOp) => HistoryOp {
  const observed = new Set<string>();
  for (const o of ops) {
    if (o.result?.kind === 'get' && o.result.value !== null) observed.add(o.result.value);
    if (o.op.kind === 'cas' && o.op.expected !== null) observed.add(o.op.expected);
  }
  return (o) => {
    const op = o.op;
    if ((op.kind === 'put' || op.kind === 'cas') && !observed.has(op.value))
      return { ...o, op: { ...op, value: UNSEEN } };
    return o;
  };
}

/** What an unknown-outcome operation can do to the key (two with the same signature are interchangeable). */
function effectSignature(o: HistoryOp): string {
  const op = o.op;
  switch (op.kind) {
    case 'put':
      return `p${op.value}`;
    case 'delete':
      return 'd';
    case 'cas':
      return `c${op.expected === null ? '\u0000' : `=${op.expected}`}|${op.value}`;
    case 'get':
      return 'g';
  }
}

/** Whether an answered operation never changes any state: a read, a failed CAS, a delete that deleted nothing. */
function observesOnly(o: HistoryOp): boolean {
  const r = o.result;
  if (r === undefined) return false;
  return r.kind === 'get' || (r.kind === 'cas' && !r.succeeded) || (r.kind === 'delete' && r.deleted === 0);
}
