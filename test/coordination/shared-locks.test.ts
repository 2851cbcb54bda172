/**
 * Proves the read-write lock and the counting semaphore over a real MvccStore in process:
 * readers share, a writer waits for earlier readers and readers that came after it wait for
 * the writer (first come, first served, no writer starvation); a semaphore of n lets exactly
 * n hold and the next one in when a place frees; a waiter that is cancelled or whose key is
 * deleted (lease gone) leaves with nothing registered; and the exclusive-lock queries do not
 * list these keys. Pending waits are observed by settling the event loop, never by timing.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { listLocks } from '../../src/coordination/lock-queries.js';
import type { CoordinationLeases } from '../../src/coordination/ports.js';
import { acquireRwLock, acquireSemaphore } from '../../src/coordination/shared-locks.js';
import { b, InProcessKv, settle, str, track } from './support.js';

const never = new AbortController().signal;
const none = new Uint8Array(0);

function release(kv: InProcessKv, key: Uint8Array): void {
  kv.apply({ type: 'deleteRange', request: { key } });
}

describe('read-write lock', () => {
  test('readers share; a writer waits for earlier readers; a later reader waits for the writer', async () => {
    const kv = new InProcessKv();
    const r1 = await acquireRwLock(kv, b('acct'), 'read', 1, never, b('r1'));
    const r2 = await acquireRwLock(kv, b('acct'), 'read', 2, never, b('r2'));
    expect(str(r1.key)).toBe('acct/read-1');
    const w = track(acquireRwLock(kv, b('acct'), 'write', 3, never, b('w')));
    await settle();
    const r3 = track(acquireRwLock(kv, b('acct'), 'read', 4, never, b('r3')));
    await settle();
    expect(w.done).toBe(false);
    expect(r3.done).toBe(false);

    release(kv, r1.key);
    await settle();
    expect(w.done).toBe(false);
    release(kv, r2.key);
    const heldW = await w.promise;
    expect(str(heldW.key)).toBe('acct/write-3');
    await settle();
    expect(r3.done).toBe(false);
    release(kv, heldW.key);
    const heldR3 = await r3.promise;
    expect(heldR3.createRevision).toBeGreaterThan(heldW.createRevision);
    await settle();
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('writers exclude each other in arrival order; a cancelled writer leaves the line', async () => {
    const kv = new InProcessKv();
    const w1 = await acquireRwLock(kv, b('x'), 'write', 1, never, none);
    const cancel = new AbortController();
    const w2 = track(acquireRwLock(kv, b('x'), 'write', 2, cancel.signal, none));
    await settle();
    const r = track(acquireRwLock(kv, b('x'), 'read', 3, never, none));
    await settle();
    cancel.abort();
    await expect(w2.promise).rejects.toMatchObject({ code: ErrorCode.CANCELLED });
    expect(kv.store.range({ key: b('x/write-2') }).kvs).toHaveLength(0);
    await settle();
    expect(r.done).toBe(false);
    release(kv, w1.key);
    expect(str((await r.promise).key)).toBe('x/read-3');
  });
});

describe('semaphore', () => {
  test('n holders at once; the next waits until a place frees, in arrival order', async () => {
    const kv = new InProcessKv();
    const a = await acquireSemaphore(kv, b('pool'), 2, 1, never, b('a'));
    await acquireSemaphore(kv, b('pool'), 2, 2, never, b('b'));
    expect(str(a.key)).toBe('pool/sem-1');
    const c = track(acquireSemaphore(kv, b('pool'), 2, 3, never, b('c')));
    await settle();
    const d = track(acquireSemaphore(kv, b('pool'), 2, 4, never, b('d')));
    await settle();
    expect(c.done || d.done).toBe(false);
    release(kv, a.key);
    const heldC = await c.promise;
    expect(str(heldC.key)).toBe('pool/sem-3');
    await settle();
    expect(d.done).toBe(false);
    release(kv, heldC.key);
    expect(str((await d.promise).key)).toBe('pool/sem-4');
    await settle();
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('a waiter whose key is deleted fails with session expired; a cancelled one leaves the line', async () => {
    const kv = new InProcessKv();
    await acquireSemaphore(kv, b('s'), 1, 1, never, none);
    const lost = acquireSemaphore(kv, b('s'), 1, 2, never, none);
    await settle();
    kv.apply({ type: 'deleteKeys', keys: [b('s/sem-2')] });
    await expect(lost).rejects.toMatchObject({ code: ErrorCode.LOCK_SESSION_EXPIRED });
    const cancel = new AbortController();
    const waiting = acquireSemaphore(kv, b('s'), 1, 3, cancel.signal, none);
    await settle();
    cancel.abort();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.CANCELLED });
    expect(kv.store.range({ key: b('s/sem-3') }).kvs).toHaveLength(0);
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('a limit outside 1..10000 is refused before anything is written', async () => {
    const kv = new InProcessKv();
    const before = kv.store.currentRevision;
    await expect(acquireSemaphore(kv, b('s'), 0, 1, never, none)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    expect(kv.store.currentRevision).toBe(before);
  });

  test('the exclusive-lock List does not mistake read, write or semaphore keys for locks', async () => {
    const kv = new InProcessKv();
    await acquireRwLock(kv, b('k/rw'), 'read', 1, never, none);
    await acquireSemaphore(kv, b('k/sem'), 3, 2, never, none);
    const leases: CoordinationLeases = {
      grant: async () => ({ id: 1, ttlSeconds: 1 }),
      revoke: async () => {},
      renew: async () => 0,
      timeToLive: async () => ({ ttlSeconds: -1, grantedTtlSeconds: 0 }),
    };
    expect((await listLocks(kv, leases, b('k/'), 0)).locks).toEqual([]);
  });
});
