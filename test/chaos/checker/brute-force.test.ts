/**
 * Proves the checker's search (with its cache, greedy reads, unseen-value abstraction and
 * interchangeable unknown writes) agrees with a brute-force enumeration of every order on
 * thousands of small random histories, linearizable or not, from the absent state and from
 * an unknown one; plus the history from a chaos run (seed 304) on which an earlier version
 * wrongly reported a violation.
 */
import { describe, expect, it } from 'vitest';
import { SimPrng } from '../../sim/prng.js';
import type { HistoryOp, KvOp, KvResult } from './history.js';
import { ANY_STATE, type KeyState, stepKey } from './kv-model.js';
import { searchKey } from './wgl.js';

/** Whether some order of the operations, respecting real time, explains every answer (unknown ones optional). */
function bruteForce(ops: readonly HistoryOp[], initial: KeyState): boolean {
  const rec = (rest: readonly HistoryOp[], s: KeyState): boolean => {
    if (rest.every((o) => o.returnMs === undefined)) return true;
    for (const o of rest) {
      if (rest.some((x) => x !== o && (x.returnMs ?? Number.POSITIVE_INFINITY) < o.invokeMs)) continue;
      const others = rest.filter((x) => x !== o);
      for (const ns of stepKey(s, o.op, o.result)) if (rec(others, ns)) return true;
    }
    return false;
  };
  return rec(ops, initial);
}

function randomHistory(rng: SimPrng, n: number): HistoryOp[] {
  const values = ['a', 'b', 'c', 'd'];
  const ops: HistoryOp[] = [];
  for (let id = 0; id < n; id++) {
    const r = rng.nextInt(4);
    const op: KvOp =
      r === 0
        ? { kind: 'put', value: rng.pick(values) }
        : r === 1
          ? { kind: 'get' }
          : r === 2
            ? { kind: 'delete' }
            : { kind: 'cas', expected: rng.chance(0.3) ? null : rng.pick(values), value: rng.pick(values) };
    const result: KvResult =
      op.kind === 'put'
        ? { kind: 'put' }
        : op.kind === 'get'
          ? { kind: 'get', value: rng.chance(0.2) ? null : rng.pick(values) }
          : op.kind === 'delete'
            ? { kind: 'delete', deleted: rng.nextInt(2) }
            : { kind: 'cas', succeeded: rng.chance(0.5) };
    const invokeMs = rng.nextInt(20);
    const base = { id, process: id, key: 'k', op, invokeMs };
    ops.push(
      op.kind !== 'get' && rng.chance(0.2)
        ? base
        : { ...base, returnMs: invokeMs + 1 + rng.nextInt(10), result },
    );
  }
  return ops;
}

const budget = (): { stepsMax: number; deadlineMs: number } => ({
  stepsMax: 1_000_000,
  deadlineMs: performance.now() + 10_000,
});

describe('the search agrees with brute force', () => {
  it('on 3,000 random histories of up to 7 operations, from the absent state and from any state', () => {
    const rng = new SimPrng(2026);
    let violations = 0;
    for (let i = 0; i < 3000; i++) {
      const h = randomHistory(rng, 2 + rng.nextInt(6));
      for (const initial of [null, ANY_STATE] as const) {
        const expected = bruteForce(h, initial);
        const got = searchKey(h, initial, budget()).verdict;
        if (!expected) violations++;
        expect(got, JSON.stringify({ initial: String(initial), h })).toBe(expected ? 'ok' : 'violation');
      }
    }
    // Both kinds were exercised.
    expect(violations).toBeGreaterThan(500);
    expect(violations).toBeLessThan(5500);
  });

  it('on the window of chaos seed 304: two deletes that each deleted, a put between them', () => {
    const t = (id: number, op: KvOp, invokeMs: number, returnMs: number, result: KvResult): HistoryOp => ({
      id,
      process: id,
      key: 'k0',
      op,
      invokeMs,
      returnMs,
      result,
    });
    const get = { kind: 'get' } as const;
    const del = { kind: 'delete' } as const;
    const h = [
      t(4164, get, 705.8, 762.7, { kind: 'get', value: 'w2-470' }),
      t(4174, del, 762.8, 781.2, { kind: 'delete', deleted: 1 }),
      t(4171, get, 745.8, 782.9, { kind: 'get', value: 'w2-470' }),
      t(4178, get, 777.9, 796.3, { kind: 'get', value: null }),
      t(4179, { kind: 'put', value: 'w6-434' }, 781.3, 801.5, { kind: 'put' }),
      t(4198, del, 829.0, 852.7, { kind: 'delete', deleted: 1 }),
      t(4194, { kind: 'put', value: 'w6-436' }, 825.6, 858.8, { kind: 'put' }),
      t(4195, { kind: 'cas', expected: 'w2-470', value: 'w4-498' }, 826.8, 865.0, {
        kind: 'cas',
        succeeded: false,
      }),
      t(4196, del, 827.0, 865.0, { kind: 'delete', deleted: 1 }),
    ];
    expect(bruteForce(h, ANY_STATE)).toBe(true);
    expect(searchKey(h, ANY_STATE, budget()).verdict).toBe('ok');
  });
});
