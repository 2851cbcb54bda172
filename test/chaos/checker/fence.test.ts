/**
 * Proves the lock-safety checker accepts a hand-written good history (tokens rising, a stale
 * holder refused) and rejects each kind of bad one with a message naming the violation: an
 * older token accepted after a newer one, a token granted twice, a grant out of real-time
 * order, an honest holder refused (mutual exclusion broken), a write with a token never
 * granted, and a run in which the fence was never exercised.
 */
import { describe, expect, it } from 'vitest';
import { checkFence, type FencedWrite, type FenceHistory, type LockGrant } from './fence.js';

const g = (holder: string, token: number, invokeMs: number, returnMs: number): LockGrant => ({
  holder,
  token,
  invokeMs,
  returnMs,
});
const w = (
  holder: string,
  token: number,
  atMs: number,
  accepted: boolean,
  kind: 'honest' | 'stale' = 'honest',
): FencedWrite => ({
  holder,
  token,
  atMs,
  accepted,
  kind,
});

const good: FenceHistory = {
  grants: [g('a', 10, 0, 1), g('b', 12, 0.5, 3), g('c', 15, 4, 5)],
  writes: [
    w('a', 10, 1.5, true),
    w('b', 12, 3.5, true),
    w('c', 15, 5.5, true),
    w('a', 10, 6, false, 'stale'),
  ],
};

describe('fence checker', () => {
  it('accepts rising tokens and a refused stale holder, and counts the refusal', () => {
    const r = checkFence(good);
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.staleRejected).toBe(1);
    expect(r.summary).toContain('stale writes refused 1');
  });

  it('rejects an older token accepted after a newer one', () => {
    const r = checkFence({
      ...good,
      writes: [w('b', 12, 1, true), w('a', 10, 2, true), w('a', 10, 3, false, 'stale')],
    });
    expect(r.ok).toBe(false);
    expect(r.violations.join('\n')).toContain("older token accepted after a newer one: a's token 10");
    expect(r.unsafe).toBe(true);
  });

  it('rejects a token granted twice', () => {
    const r = checkFence({ ...good, grants: [...good.grants, g('d', 12, 6, 7)] });
    expect(r.violations.join('\n')).toContain('token 12 granted twice');
  });

  it('rejects a grant with a lower token than one that returned before it was asked for', () => {
    const r = checkFence({ ...good, grants: [g('a', 10, 0, 1), g('b', 9, 2, 3), g('c', 15, 4, 5)] });
    expect(r.violations.join('\n')).toContain('grant out of order: b asked at 2 ms');
  });

  it('rejects an honest holder refused: mutual exclusion broken', () => {
    const r = checkFence({
      ...good,
      writes: [w('b', 12, 1, true), w('a', 10, 2, false), w('a', 10, 3, false, 'stale')],
    });
    expect(r.violations.join('\n')).toContain('mutual exclusion broken: a still held the lock (token 10');
  });

  it('rejects a write with a token its writer was never granted', () => {
    const r = checkFence({ ...good, writes: [...good.writes, w('c', 10, 7, false, 'stale')] });
    expect(r.violations.join('\n')).toContain('write by c with token 10, which was never granted to it');
  });

  it('rejects a resource that refused the highest token', () => {
    const r = checkFence({
      ...good,
      writes: [w('a', 10, 1, true), w('b', 12, 2, false), w('a', 10, 3, false, 'stale')],
    });
    expect(r.violations.join('\n')).toContain("the resource refused b's token 12");
  });

  it('rejects a run in which no stale holder was refused: the fence was never exercised', () => {
    const r = checkFence({ ...good, writes: good.writes.slice(0, 3) });
    expect(r.violations).toEqual([expect.stringContaining('fence never exercised')]);
    expect(r.unsafe).toBe(false);
    expect(r.exercised).toBe(false);
    expect(checkFence({ ...good, writes: good.writes.slice(0, 3) }, { requireExercised: false }).ok).toBe(
      true,
    );
  });
});
