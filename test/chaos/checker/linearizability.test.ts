/**
 * Proves the linearizability checker rejects hand-written histories that no sequential order
 * explains (stale read, lost write, CAS anomalies, a write one process saw and a later process
 * did not) and accepts overlapping concurrent operations and unknown-outcome operations that
 * did or did not take effect; a violation's report names the key and a window that fails on
 * its own; an oversized search answers 'unknown' instead of hanging.
 */
import { describe, expect, it } from 'vitest';
import type { HistoryOp, KvOp, KvResult } from './history.js';
import { checkLinearizable, formatCheck } from './linearizability.js';

class H {
  readonly ops: HistoryOp[] = [];
  private add(p: number, key: string, op: KvOp, t0: number, t1: number | undefined, result?: KvResult): this {
    const base = { id: this.ops.length, process: p, key, op, invokeMs: t0 };
    this.ops.push(t1 === undefined || result === undefined ? base : { ...base, returnMs: t1, result });
    return this;
  }
  put(p: number, v: string, t0: number, t1?: number, key = 'k'): this {
    return this.add(p, key, { kind: 'put', value: v }, t0, t1, { kind: 'put' });
  }
  get(p: number, v: string | null, t0: number, t1: number, key = 'k'): this {
    return this.add(p, key, { kind: 'get' }, t0, t1, { kind: 'get', value: v });
  }
  del(p: number, deleted: number, t0: number, t1?: number, key = 'k'): this {
    return this.add(p, key, { kind: 'delete' }, t0, t1, { kind: 'delete', deleted });
  }
  cas(p: number, expected: string | null, v: string, ok: boolean, t0: number, t1?: number, key = 'k'): this {
    return this.add(p, key, { kind: 'cas', expected, value: v }, t0, t1, { kind: 'cas', succeeded: ok });
  }
}

describe('linearizability checker: rejects', () => {
  it('a stale read: a read that starts after a write returned sees the old value', () => {
    const h = new H().put(1, 'a', 0, 1).put(1, 'b', 2, 3).get(2, 'a', 4, 5);
    const r = checkLinearizable(h.ops);
    expect(r.verdict).toBe('violation');
    expect(r.violations[0]!.key).toBe('k');
    expect(r.violations[0]!.stuck.id).toBe(2);
    expect(formatCheck(r)).toContain('cannot linearize #2 p2');
  });

  it('a lost write: an acknowledged put is never seen, the old value comes back', () => {
    const h = new H().put(1, 'a', 0, 1).put(2, 'b', 2, 3).get(3, 'a', 10, 11).get(3, 'a', 12, 13);
    expect(checkLinearizable(h.ops).verdict).toBe('violation');
  });

  it('a read of a value nobody wrote', () => {
    expect(checkLinearizable(new H().get(1, 'x', 0, 1).ops).verdict).toBe('violation');
  });

  it('two CAS from the same expected value both succeed', () => {
    const h = new H().put(1, 'a', 0, 1).cas(2, 'a', 'b', true, 2, 5).cas(3, 'a', 'c', true, 2, 5);
    expect(checkLinearizable(h.ops).verdict).toBe('violation');
  });

  it('a CAS fails although nothing else could have changed the value', () => {
    const h = new H().put(1, 'a', 0, 1).cas(2, 'a', 'b', false, 2, 3);
    expect(checkLinearizable(h.ops).verdict).toBe('violation');
  });

  it('a CAS on an absent key succeeds twice (create twice)', () => {
    const h = new H().cas(1, null, 'a', true, 0, 1).cas(2, null, 'b', true, 2, 3);
    expect(checkLinearizable(h.ops).verdict).toBe('violation');
  });

  it('a read-your-write violation across processes: p2 reads the write, later p3 does not', () => {
    const h = new H().put(1, 'a', 0, 1).put(1, 'b', 2, 10).get(2, 'b', 3, 4).get(3, 'a', 5, 6);
    const r = checkLinearizable(h.ops);
    expect(r.verdict).toBe('violation');
    // The window needs no prefix: b was seen, then a came back while nobody wrote a.
    expect(r.violations[0]!.fromAnyState).toBe(true);
  });

  it('a delete that reports nothing deleted while the key holds a value', () => {
    const h = new H().put(1, 'a', 0, 1).del(2, 0, 2, 3);
    expect(checkLinearizable(h.ops).verdict).toBe('violation');
  });

  it('reports the violating key among clean ones, with a small window', () => {
    const h = new H();
    for (let i = 0; i < 50; i++)
      h.put(1, `v${i}`, i * 10, i * 10 + 1, 'clean').get(2, `v${i}`, i * 10 + 2, i * 10 + 3, 'clean');
    for (let i = 0; i < 50; i++)
      h.put(1, `w${i}`, i * 10, i * 10 + 1).get(2, `w${i}`, i * 10 + 2, i * 10 + 3);
    h.put(1, 'late', 600, 601).get(2, 'w49', 602, 603);
    const r = checkLinearizable(h.ops);
    expect(r.verdict).toBe('violation');
    expect(r.keys.find((k) => k.key === 'clean')!.verdict).toBe('ok');
    const v = r.violations[0]!;
    expect(v.key).toBe('k');
    expect(v.window.length).toBeLessThanOrEqual(4);
    expect(v.window.map((o) => o.id)).toContain(v.stuck.id);
  });
});

describe('linearizability checker: accepts', () => {
  it('concurrent overlapping writes and reads in either order', () => {
    const h = new H()
      .put(1, 'a', 0, 10)
      .put(2, 'b', 1, 9)
      .get(3, 'b', 2, 3)
      .get(4, 'a', 4, 12)
      .get(3, 'a', 13, 14);
    expect(checkLinearizable(h.ops).verdict).toBe('ok');
  });

  it('a CAS race where exactly one wins', () => {
    const h = new H()
      .put(1, 'a', 0, 1)
      .cas(2, 'a', 'b', false, 2, 6)
      .cas(3, 'a', 'c', true, 2, 6)
      .get(1, 'c', 7, 8)
      .del(1, 1, 9, 10)
      .get(2, null, 11, 12);
    expect(checkLinearizable(h.ops).verdict).toBe('ok');
  });

  it('an unknown-outcome write that took effect (seen later)', () => {
    const h = new H().put(1, 'a', 0, 1).put(2, 'b', 2).get(3, 'a', 3, 4).get(3, 'b', 50, 51);
    expect(checkLinearizable(h.ops).verdict).toBe('ok');
  });

  it('an unknown-outcome write that never took effect', () => {
    const h = new H().put(1, 'a', 0, 1).put(2, 'b', 2).get(3, 'a', 3, 4).get(3, 'a', 50, 51);
    expect(checkLinearizable(h.ops).verdict).toBe('ok');
  });

  it('an unknown-outcome CAS that explains a later failed CAS', () => {
    const h = new H().put(1, 'a', 0, 1).cas(2, 'a', 'b', true, 2).cas(3, 'a', 'c', false, 10, 11);
    expect(checkLinearizable(h.ops).verdict).toBe('ok');
  });

  it('two interchangeable unknown writes, each needed at a different time to explain a failed CAS', () => {
    const h = new H()
      .put(1, 'a', 0, 1)
      .put(2, 'x', 2)
      .put(3, 'y', 2)
      .cas(1, 'a', 'c', false, 5, 6)
      .put(1, 'a', 7, 8)
      .cas(1, 'a', 'd', false, 9, 10);
    expect(checkLinearizable(h.ops).verdict).toBe('ok');
    // With only one unknown write the second failed CAS has no explanation.
    const one = h.ops.filter((o) => o.id !== 2);
    expect(checkLinearizable(one).verdict).toBe('violation');
  });

  it('an empty history and a key that starts absent', () => {
    expect(checkLinearizable([]).verdict).toBe('ok');
    expect(checkLinearizable(new H().get(1, null, 0, 1).del(1, 0, 2, 3).ops).verdict).toBe('ok');
  });
});

describe('linearizability checker: bounds', () => {
  it("answers 'unknown' when the search exceeds its step budget", () => {
    const h = new H();
    // Many concurrent unknown writes and reads of them: a large space to search.
    for (let i = 0; i < 40; i++) h.put(i, `v${i}`, i);
    for (let i = 0; i < 40; i++) h.get(100 + i, `v${(i * 7) % 40}`, 100 + i, 200 + i);
    const r = checkLinearizable(h.ops, { stepsPerKeyMax: 50 });
    expect(r.verdict).toBe('unknown');
    expect(r.keys[0]!.reason).toContain('steps');
  });

  it("answers 'unknown' for a key with more operations than allowed", () => {
    const h = new H();
    for (let i = 0; i < 20; i++) h.put(1, `v${i}`, i * 2, i * 2 + 1);
    expect(checkLinearizable(h.ops, { opsPerKeyMax: 10 }).verdict).toBe('unknown');
  });
});
