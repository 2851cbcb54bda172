/**
 * Proves the checker accepts every history a real linearizable register produces: random
 * concurrent operations from several processes, each taking effect at a random instant
 * inside its own interval (some with unknown outcomes, which take effect or not), are
 * applied to a sequential model in that order to get their answers; each such history must
 * be accepted within its budget. Seeds are fixed, so a failure replays.
 */
import { describe, expect, it } from 'vitest';
import { SimPrng } from '../../sim/prng.js';
import type { HistoryOp, KvOp, KvResult } from './history.js';
import { checkLinearizable } from './linearizability.js';

interface Pending {
  readonly op: Omit<HistoryOp, 'returnMs' | 'result'>;
  readonly returnMs: number;
  readonly atMs: number | undefined;
  readonly unknown: boolean;
}

/** A history of `opsPerProcess` operations per process over `keys`, answered by a real register. */
function generate(
  seed: number,
  processes: number,
  opsPerProcess: number,
  keys: readonly string[],
  unknownRate: number,
): HistoryOp[] {
  const rng = new SimPrng(seed);
  const pending: Pending[] = [];
  let id = 0;
  let written = 0;
  for (let p = 0; p < processes; p++) {
    let t = rng.nextInt(10);
    for (let i = 0; i < opsPerProcess; i++) {
      const key = rng.pick(keys);
      const r = rng.nextInt(10);
      const fresh = (): string => `v${written++}`;
      const op: KvOp =
        r < 3
          ? { kind: 'put', value: fresh() }
          : r < 6
            ? { kind: 'get' }
            : r < 7
              ? { kind: 'delete' }
              : {
                  kind: 'cas',
                  expected: rng.chance(0.3) ? null : `v${rng.nextInt(Math.max(1, written))}`,
                  value: fresh(),
                };
      const invokeMs = t;
      const returnMs = t + 1 + rng.nextInt(30);
      const unknown = op.kind !== 'get' && rng.chance(unknownRate);
      const takesEffect = !unknown || rng.chance(0.5);
      // An unknown operation may take effect long after its client gave up.
      const end = unknown ? returnMs + 100 : returnMs;
      const atMs = takesEffect ? invokeMs + (rng.nextU32() / 0x1_0000_0000) * (end - invokeMs) : undefined;
      pending.push({ op: { id: id++, process: p, key, op, invokeMs }, returnMs, atMs, unknown });
      t = returnMs + rng.nextInt(5);
      // A process whose operation's outcome is unknown carries on as a new process would.
    }
  }
  const state = new Map<string, string | null>();
  const results = new Map<number, KvResult>();
  const effective = pending.filter((x) => x.atMs !== undefined).sort((a, b) => a.atMs! - b.atMs!);
  for (const x of effective) {
    const cur = state.get(x.op.key) ?? null;
    const op = x.op.op;
    if (op.kind === 'put') {
      state.set(x.op.key, op.value);
      results.set(x.op.id, { kind: 'put' });
    } else if (op.kind === 'get') {
      results.set(x.op.id, { kind: 'get', value: cur });
    } else if (op.kind === 'delete') {
      state.set(x.op.key, null);
      results.set(x.op.id, { kind: 'delete', deleted: cur === null ? 0 : 1 });
    } else {
      const ok = cur === op.expected;
      if (ok) state.set(x.op.key, op.value);
      results.set(x.op.id, { kind: 'cas', succeeded: ok });
    }
  }
  return pending.map((x) =>
    x.unknown ? x.op : { ...x.op, returnMs: x.returnMs, result: results.get(x.op.id)! },
  );
}

describe('linearizability checker on histories of a real register', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    it(`accepts seed ${seed} (6 processes, 3 keys, 900 ops)`, () => {
      const history = generate(seed, 6, 150, ['a', 'b', 'c'], 0.03);
      const r = checkLinearizable(history, { timeBudgetMs: 20_000 });
      expect(r.verdict).toBe('ok');
      expect(r.ops).toBe(900);
    });
  }

  it('accepts a long single-key history with high concurrency (12 processes, 2,400 ops, all answered)', () => {
    const r = checkLinearizable(generate(99, 12, 200, ['k'], 0), { timeBudgetMs: 20_000 });
    expect(r.verdict).toBe('ok');
  });

  it('accepts a long single-key history with unknown outcomes (8 processes, 1,200 ops, 1% unknown)', () => {
    const r = checkLinearizable(generate(98, 8, 150, ['k'], 0.01), { timeBudgetMs: 20_000 });
    expect(r.verdict).toBe('ok');
  });

  it('rejects the same kind of history once one read answer is corrupted', () => {
    const history = generate(7, 4, 100, ['k'], 0.02);
    const i = history.findIndex((h, n) => n > 200 && h.result?.kind === 'get' && h.result.value !== null);
    const h = history[i]!;
    const corrupted = [...history];
    corrupted[i] = { ...h, result: { kind: 'get', value: 'never-written' } };
    expect(checkLinearizable(corrupted).verdict).toBe('violation');
  });
});
