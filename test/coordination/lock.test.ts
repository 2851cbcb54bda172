/**
 * Proves the lock recipe's behaviour over a real MvccStore (commands applied in process, the
 * server's ApplyFeed delivering deletes): etcd's key layout, one holder at a time in create
 * revision order with growing fencing tokens, each waiter watching only the key just ahead,
 * and a waiter that is cancelled or loses its lease leaving the line with nothing left
 * registered. Pending waits are observed by settling the event loop, never by timing.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { acquireLock, releaseLock } from '../../src/coordination/lock.js';
import { b, InProcessKv, settle, str, track } from './support.js';

const never = new AbortController().signal;

describe('lock recipe', () => {
  test('an uncontended lock puts <name>/<lease hex> with the lease; its create revision is the token', async () => {
    const kv = new InProcessKv();
    const held = await acquireLock(kv, b('pay/ledger'), 0x694d7a, never);
    expect(str(held.key)).toBe('pay/ledger/694d7a');
    const stored = kv.store.range({ key: held.key }).kvs[0]!;
    expect(stored.lease).toBe(0x694d7a);
    expect(stored.value.byteLength).toBe(0);
    expect(held.createRevision).toBe(stored.createRevision);
    expect(held.header.revision).toBe(stored.createRevision);
  });

  test('a second caller waits until the holder unlocks, then holds with a larger fencing token', async () => {
    const kv = new InProcessKv();
    const first = await acquireLock(kv, b('l'), 1, never);
    const second = track(acquireLock(kv, b('l'), 2, never));
    await settle();
    expect(second.done).toBe(false);
    await releaseLock(kv, first.key);
    const held = await second.promise;
    expect(str(held.key)).toBe('l/2');
    expect(held.createRevision).toBeGreaterThan(first.createRevision);
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('each waiter watches only the key just ahead of it, and one release wakes one waiter', async () => {
    const kv = new InProcessKv();
    const a = await acquireLock(kv, b('q'), 0xa, never);
    const bWait = track(acquireLock(kv, b('q'), 0xb, never));
    await settle();
    const cWait = track(acquireLock(kv, b('q'), 0xc, never));
    await settle();
    // Each waits on its predecessor and on its own key (lease loss).
    expect(kv.waitedOn).toEqual(['q/b', 'q/a', 'q/c', 'q/b']);
    await releaseLock(kv, a.key);
    const heldB = await bWait.promise;
    await settle();
    expect(cWait.done).toBe(false);
    expect(kv.waitedOn).toEqual(['q/b', 'q/a', 'q/c', 'q/b']);
    await releaseLock(kv, heldB.key);
    const heldC = await cWait.promise;
    expect(heldC.createRevision).toBeGreaterThan(heldB.createRevision);
    expect(heldB.createRevision).toBeGreaterThan(a.createRevision);
  });

  test('when the waiter ahead gives up, the next one waits for the holder instead', async () => {
    const kv = new InProcessKv();
    const a = await acquireLock(kv, b('q'), 0xa, never);
    const cancelB = new AbortController();
    const bWait = track(acquireLock(kv, b('q'), 0xb, cancelB.signal));
    await settle();
    const cWait = track(acquireLock(kv, b('q'), 0xc, never));
    await settle();
    cancelB.abort();
    await expect(bWait.promise).rejects.toMatchObject({ code: ErrorCode.CANCELLED });
    await settle();
    expect(kv.store.range({ key: b('q/b') }).kvs).toHaveLength(0);
    expect(cWait.done).toBe(false);
    await releaseLock(kv, a.key);
    expect(str((await cWait.promise).key)).toBe('q/c');
  });

  test('a cancelled waiter removes its key and leaves no watch behind', async () => {
    const kv = new InProcessKv();
    await acquireLock(kv, b('c'), 1, never);
    const cancel = new AbortController();
    const waiting = acquireLock(kv, b('c'), 2, cancel.signal);
    await settle();
    expect(kv.feed.watcherCount).toBe(2);
    cancel.abort();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.CANCELLED });
    expect(kv.feed.watcherCount).toBe(0);
    expect(kv.store.range({ key: b('c/2') }).kvs).toHaveLength(0);
  });

  test("a waiter whose lease ends (its key deleted) fails at once with etcd's session-expired error", async () => {
    const kv = new InProcessKv();
    await acquireLock(kv, b('e'), 1, never);
    const waiting = acquireLock(kv, b('e'), 2, never);
    await settle();
    // What a lease revocation applies: the lease's keys deleted in one revision.
    kv.apply({ type: 'deleteKeys', keys: [b('e/2')] });
    await expect(waiting).rejects.toMatchObject({
      code: ErrorCode.LOCK_SESSION_EXPIRED,
      message: 'mutex: session is expired',
    });
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('the same lease locking again gets its existing key back at once', async () => {
    const kv = new InProcessKv();
    const first = await acquireLock(kv, b('r'), 7, never);
    const again = await acquireLock(kv, b('r'), 7, never);
    expect(str(again.key)).toBe('r/7');
    expect(again.createRevision).toBe(first.createRevision);
  });

  test('an unknown lease is refused with the store error and writes nothing', async () => {
    const kv = new InProcessKv({ leaseExists: () => false });
    const before = kv.store.currentRevision;
    await expect(acquireLock(kv, b('n'), 5, never)).rejects.toMatchObject({
      code: ErrorCode.LEASE_NOT_FOUND,
    });
    expect(kv.store.currentRevision).toBe(before);
  });

  test('a lock taken by another recipe user with the same layout is respected (keys created earlier lead)', async () => {
    const kv = new InProcessKv();
    // As etcdctl's session would: its key exists under the name before ours.
    kv.apply({ type: 'put', request: { key: b('x/abc'), value: new Uint8Array(0), lease: 0xabc } });
    const waiting = track(acquireLock(kv, b('x'), 0x1, never));
    await settle();
    expect(waiting.done).toBe(false);
    kv.apply({ type: 'deleteRange', request: { key: b('x/abc') } });
    expect(str((await waiting.promise).key)).toBe('x/1');
  });
});
