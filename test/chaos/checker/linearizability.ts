/**
 * The linearizability checker for a key-value history: partition by key (keys are
 * independent registers, so the history is linearizable iff every key's sub-history is),
 * search each with wgl.ts under a budget, and for a key that cannot be linearized find a
 * small window that shows it: the latest quiet instant such that the operations from there up
 * to the stuck operation's return cannot be linearized even from an unknown starting state.
 */
import { formatOp, type HistoryOp } from './history.js';
import { ANY_STATE, type KeyState, showState } from './kv-model.js';
import { searchKey } from './wgl.js';

/** Bounds of a whole check: operations per key, search steps per key, total wall-clock time. */
export interface CheckOptions {
  readonly opsPerKeyMax?: number;
  readonly stepsPerKeyMax?: number;
  readonly timeBudgetMs?: number;
  /** Time spent looking for a small window once a violation is found. */
  readonly windowBudgetMs?: number;
}

/** The verdict for one key. */
export interface KeyVerdict {
  readonly key: string;
  readonly ops: number;
  readonly verdict: 'ok' | 'violation' | 'unknown';
  readonly steps: number;
  readonly reason?: string;
}

/** A violation: the key, the stuck operation and the window of operations that cannot be linearized. */
export interface Violation {
  readonly key: string;
  readonly stuck: HistoryOp;
  /** The window, by invocation time. */
  readonly window: readonly HistoryOp[];
  /** Whether the window fails from an unknown state (true) or only from the key's initial absent state. */
  readonly fromAnyState: boolean;
  /** The last operations linearized before the deepest dead end, and the state they left. */
  readonly lastLinearized: readonly HistoryOp[];
  readonly deepestState: KeyState;
}

/** The outcome of checking a history. */
export interface CheckResult {
  readonly verdict: 'ok' | 'violation' | 'unknown';
  readonly keys: readonly KeyVerdict[];
  readonly violations: readonly Violation[];
  readonly ops: number;
}

const DEFAULTS = {
  opsPerKeyMax: 50_000,
  stepsPerKeyMax: 20_000_000,
  timeBudgetMs: 60_000,
  windowBudgetMs: 5_000,
};

/** Checks a history in which every key starts absent. */
export function checkLinearizable(history: readonly HistoryOp[], opts: CheckOptions = {}): CheckResult {
  const o = { ...DEFAULTS, ...opts };
  const deadlineMs = performance.now() + o.timeBudgetMs;
  const byKey = new Map<string, HistoryOp[]>();
  for (const h of history) {
    const list = byKey.get(h.key);
    if (list) list.push(h);
    else byKey.set(h.key, [h]);
  }
  const keys: KeyVerdict[] = [];
  const violations: Violation[] = [];
  for (const [key, ops] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (ops.length > o.opsPerKeyMax) {
      keys.push({
        key,
        ops: ops.length,
        verdict: 'unknown',
        steps: 0,
        reason: `more than ${o.opsPerKeyMax} ops`,
      });
      continue;
    }
    const r = searchKey(ops, null, { stepsMax: o.stepsPerKeyMax, deadlineMs });
    if (r.verdict === 'unknown') {
      keys.push({ key, ops: ops.length, verdict: 'unknown', steps: r.steps, reason: r.reason });
    } else if (r.verdict === 'ok') {
      keys.push({ key, ops: ops.length, verdict: 'ok', steps: r.steps });
    } else {
      keys.push({ key, ops: ops.length, verdict: 'violation', steps: r.steps });
      const w = smallWindow(ops, r.stuck, o.windowBudgetMs);
      violations.push({
        key,
        stuck: r.stuck,
        window: w.window,
        fromAnyState: w.fromAnyState,
        lastLinearized: r.deepest.slice(-5),
        deepestState: r.deepestState,
      });
    }
  }
  const verdict =
    violations.length > 0 ? 'violation' : keys.some((k) => k.verdict === 'unknown') ? 'unknown' : 'ok';
  return { verdict, keys, violations, ops: history.length };
}

/**
 * The smallest window found, within the budget. A window starts at a quiet instant S (the
 * invocation of some operation while no operation with a known answer is running): every
 * operation that answered before S took effect before S, so the state at S is some state,
 * and the window (operations invoked from S on, plus unknown-outcome ones invoked earlier,
 * which may take effect late or never) is checked from ANY state. The latest such S that
 * still fails gives the window, ending at the stuck operation's return (operations still
 * running then count as unknown-outcome). Falls back to the whole prefix from the initial
 * absent state, or the whole history.
 */
function smallWindow(
  ops: readonly HistoryOp[],
  stuck: HistoryOp,
  budgetMs: number,
): { window: HistoryOp[]; fromAnyState: boolean } {
  const deadlineMs = performance.now() + budgetMs;
  const end = stuck.returnMs ?? Number.POSITIVE_INFINITY;
  const byInvoke = [...ops].sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
  // Operations still running at the stuck one's return may have seen later ones: their answers are dropped.
  let prefix = byInvoke
    .filter((h) => h.invokeMs <= end)
    .map(
      (h): HistoryOp =>
        (h.returnMs ?? Number.POSITIVE_INFINITY) > end
          ? { id: h.id, process: h.process, key: h.key, op: h.op, invokeMs: h.invokeMs }
          : h,
    );
  const prefixCheck = searchKey(prefix, null, { stepsMax: 5_000_000, deadlineMs });
  if (prefixCheck.verdict !== 'violation') prefix = byInvoke;
  // quiet[k]: no operation with a known answer invoked before prefix[k] is still running at its invocation.
  const quiet: boolean[] = [];
  let latestReturn = Number.NEGATIVE_INFINITY;
  for (const h of prefix) {
    quiet.push(latestReturn < h.invokeMs);
    if (h.returnMs !== undefined) latestReturn = Math.max(latestReturn, h.returnMs);
  }
  for (let k = prefix.length - 1; k > 0 && performance.now() < deadlineMs; k--) {
    if (!quiet[k]) continue;
    const window = prefix.filter((h, i) => i >= k || h.returnMs === undefined);
    const r = searchKey(window, ANY_STATE, { stepsMax: 1_000_000, deadlineMs });
    if (r.verdict === 'violation') return { window, fromAnyState: true };
    if (r.verdict === 'unknown') break;
  }
  return { window: prefix, fromAnyState: false };
}

/** A readable report of a check: one line per key that failed, then each violation's window. */
export function formatCheck(result: CheckResult, originMs = 0, windowOpsMax = 40): string {
  const lines: string[] = [];
  const okKeys = result.keys.filter((k) => k.verdict === 'ok').length;
  lines.push(
    `linearizability: ${result.verdict} (${result.ops} ops, ${okKeys}/${result.keys.length} keys ok)`,
  );
  for (const k of result.keys)
    if (k.verdict !== 'ok')
      lines.push(
        `  key ${JSON.stringify(k.key)}: ${k.verdict} (${k.ops} ops)${k.reason ? ` ${k.reason}` : ''}`,
      );
  for (const v of result.violations) {
    lines.push(`  key ${JSON.stringify(v.key)}: cannot linearize ${formatOp(v.stuck, originMs)}`);
    lines.push(
      `    window of ${v.window.length} ops (${v.fromAnyState ? 'fails from any starting state' : 'from the initial absent state'}; '?': outcome unknown or answered after the stuck op):`,
    );
    const shown = v.window.length > windowOpsMax ? v.window.slice(-windowOpsMax) : v.window;
    if (shown.length < v.window.length) lines.push(`      ... ${v.window.length - shown.length} earlier ops`);
    for (const h of shown) lines.push(`      ${formatOp(h, originMs)}`);
    lines.push(`    deepest linearization ended in state ${showState(v.deepestState)} after:`);
    for (const h of v.lastLinearized) lines.push(`      ${formatOp(h, originMs)}`);
  }
  return lines.join('\n');
}
