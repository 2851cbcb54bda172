/**
 * Proves that a waiter in line survives a passing failure of the member it waits on: when
 * the read it makes after the key ahead was deleted fails (a linearizable read timing out
 * while the member cannot reach the leader, as in a one-way partition), the waiter keeps its
 * key and fencing token, looks again, and takes the lock; and that if its own key went while
 * it could not read, it reports the session expired. Failures are injected into an in-process
 * CoordinationKv, so they happen exactly where the test puts them.
 */
import { describe, expect, test } from 'vitest';
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import { acquireLock, releaseLock } from '../../src/coordination/lock.js';
import type { RangeRequest, RangeResponse, TxnRequest, TxnResponse } from '../../src/mvcc/index.js';
import { b, InProcessKv, settle, str, track } from './support.js';

const never = new AbortController().signal;

/**
 * An in-process kv whose next `failRanges` reads fail as a read barrier that timed out; the
 * next Txn sets failRanges to `failRangesAfterTxn` (a release's own read before it goes through).
 */
class FlakyKv extends InProcessKv {
  failRanges = 0;
  failRangesAfterTxn = 0;
  failed = 0;
  beforeFailure: () => void = () => undefined;
  override async txn(req: TxnRequest): Promise<TxnResponse> {
    const r = await super.txn(req);
    this.failRanges = this.failRangesAfterTxn;
    this.failRangesAfterTxn = 0;
    return r;
  }
  override async range(req: RangeRequest): Promise<RangeResponse> {
    if (this.failRanges > 0) {
      this.failRanges--;
      this.failed++;
      this.beforeFailure();
      throw new CairnError(ErrorCode.TIMEOUT, 'linearizable read timed out waiting for the leader');
    }
    return super.range(req);
  }
}

describe('a waiter in line and passing failures', () => {
  test('keeps its place and token through failed reads, and takes the lock when it is first', async () => {
    const kv = new FlakyKv();
    const first = await acquireLock(kv, b('l'), 1, never);
    const second = track(acquireLock(kv, b('l'), 2, never));
    await settle();
    const token = kv.store.range({ key: b('l/2') }).kvs[0]!.createRevision;
    kv.failRangesAfterTxn = 3;
    await releaseLock(kv, first.key);
    const held = await second.promise;
    expect(kv.failed).toBe(3);
    expect(str(held.key)).toBe('l/2');
    expect(held.createRevision).toBe(token);
    expect(kv.store.range({ key: b('l/2') }).kvs[0]?.createRevision).toBe(token);
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('reports the session expired when its own key went while it could not read', async () => {
    const kv = new FlakyKv();
    const first = await acquireLock(kv, b('m'), 1, never);
    const second = track(acquireLock(kv, b('m'), 2, never));
    await settle();
    kv.failRangesAfterTxn = 1;
    // While the read fails, the waiter's lease ends: its key goes.
    kv.beforeFailure = () => {
      kv.apply({ type: 'txn', request: { success: [{ requestDeleteRange: { key: b('m/2') } }] } });
    };
    await releaseLock(kv, first.key);
    await expect(second.promise).rejects.toMatchObject({ code: ErrorCode.LOCK_SESSION_EXPIRED });
    expect(kv.feed.watcherCount).toBe(0);
  });
});
