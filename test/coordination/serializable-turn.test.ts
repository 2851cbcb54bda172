/**
 * Proves that a waiter decides "my turn" from serializable reads without giving up safety:
 * the reads in line skip the round to the leader (LockService's wait costs no linearizable
 * read at all; etcd's recipe keeps its one confirming read), a waiter whose key vanishes
 * right after such a read is refused by the stamp instead of being told it holds the lock,
 * and a waiter whose member lags (its serializable reads show an older state with the key
 * ahead still there) still gets the lock, in order, once it catches up. And the hand-over:
 * a holder's Release stamps the next waiter's key in its own Txn, so the waiter answers with
 * no write of its own, at the release's revision; a stale view of the line (the next waiter
 * already gone) stamps nobody and the real next waiter stamps itself; read-write lock keys
 * are never stamped by a release. etcd's Unlock hands over the same way, so etcd's recipe
 * too answers a waiter whose turn came by a release with no linearizable read, and an Unlock
 * still deletes whatever generation of the key it is given. Over a real MvccStore in
 * process; serializable reads of the lagging member are the store read at an older revision.
 */
import { describe, expect, test } from 'vitest';
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import {
  acquireFencedLock,
  type LockRequest,
  releaseFencedLock,
} from '../../src/coordination/fenced-lock.js';
import { acquireLock, releaseLock } from '../../src/coordination/lock.js';
import type { RangeRequest, RangeResponse, TxnRequest, TxnResponse } from '../../src/mvcc/index.js';
import { b, InProcessKv, settle, track } from './support.js';
import { InProcessLeases } from './support-leases.js';

const never = new AbortController().signal;

/**
 * Counts reads by kind; `onSerializable` runs after each serializable read is answered; the
 * next `staleReads` serializable reads are served from `lagRevisions` revisions back (a member
 * that lags, then catches up: its watches, from this process's hub, already have the news).
 */
class CountingKv extends InProcessKv {
  txns = 0;
  linearizable = 0;
  serializable = 0;
  staleReads = 0;
  lagRevisions = 0;
  onSerializable: (() => void) | undefined;

  override txn(req: TxnRequest): Promise<TxnResponse> {
    this.txns++;
    return super.txn(req);
  }

  override async range(req: RangeRequest): Promise<RangeResponse> {
    if (req.serializable !== true) {
      this.linearizable++;
      return super.range(req);
    }
    this.serializable++;
    await Promise.resolve();
    const lag = this.staleReads > 0 ? this.lagRevisions : 0;
    if (this.staleReads > 0) this.staleReads--;
    const at = Math.max(1, this.store.currentRevision - lag);
    const r = this.store.range({ ...req, revision: at });
    const answer = { ...r, header: { ...r.header, revision: at } };
    this.onSerializable?.();
    return answer;
  }
}

function counting(): { kv: CountingKv; leases: InProcessLeases } {
  const kv: CountingKv = new CountingKv({ leaseExists: (id) => kv.store.lease(id) !== undefined });
  return { kv, leases: new InProcessLeases(kv) };
}

function request(leaseId: number): LockRequest {
  return { name: b('pay'), leaseId, ttlSeconds: 0, waitTimeoutMs: 0, owner: b('worker') };
}

/** A holder of the lock and two waiters in line behind it, in that order, each with its own lease (ids in line order). */
async function holderAndTwoWaiters() {
  const { kv, leases } = counting();
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) ids.push((await leases.grant(60)).id);
  const first = await acquireFencedLock(kv, leases, request(ids[0]!), never);
  const second = track(acquireFencedLock(kv, leases, request(ids[1]!), never));
  await settle();
  const third = track(acquireFencedLock(kv, leases, request(ids[2]!), never));
  await settle();
  return { kv, leases, ids, first, second, third };
}

/** A holder of the lock and one waiter in line behind it (still waiting), each with its own lease. */
async function holderAndWaiter() {
  const { kv, leases } = counting();
  const a = await leases.grant(60);
  const w = await leases.grant(60);
  const held = await acquireFencedLock(kv, leases, request(a.id), never);
  const waiting = track(acquireFencedLock(kv, leases, request(w.id), never));
  await settle();
  expect(waiting.done).toBe(false);
  return { kv, leases, held, waiting, w };
}

describe('a turn decided from serializable reads', () => {
  test("LockService's wait reads serializably and confirms with the stamp; etcd's recipe confirms with one linearizable read", async () => {
    const { kv, leases, held, waiting } = await holderAndWaiter();
    kv.linearizable = 0;
    kv.serializable = 0;
    kv.apply({ type: 'deleteKeys', keys: [held.key] });
    const got = await waiting.promise;
    expect(got.fencingToken).toBeGreaterThan(held.fencingToken);
    expect(kv.serializable).toBeGreaterThanOrEqual(1);
    expect(kv.linearizable).toBe(0);
    // The stamp ran: the key's mod revision is the revision of the answer.
    const stamped = kv.store.range({ key: got.key }).kvs[0]!;
    expect(stamped.modRevision).toBe(got.header.revision);
    expect(stamped.modRevision).toBeGreaterThan(stamped.createRevision);

    // etcd's Mutex recipe, which has no stamp, keeps one linearizable read to confirm its key.
    const c = await leases.grant(60);
    const second = track(acquireLock(kv, b('pay'), c.id, never));
    await settle();
    expect(second.done).toBe(false);
    kv.linearizable = 0;
    kv.apply({ type: 'deleteKeys', keys: [got.key] });
    const mutex = await second.promise;
    expect(mutex.confirmed).toBe(true);
    expect(mutex.createRevision).toBeGreaterThan(got.fencingToken);
    expect(kv.linearizable).toBe(1);
  });

  test('a waiter whose key is deleted just after its serializable read is refused by the stamp, not told it holds the lock', async () => {
    const { kv, held, waiting, w } = await holderAndWaiter();
    // The waiter's lease ends between the read that shows it first and the stamp.
    kv.onSerializable = () => {
      kv.onSerializable = undefined;
      kv.apply({ type: 'leaseRevoke', id: w.id });
    };
    kv.apply({ type: 'deleteKeys', keys: [held.key] });
    await expect(waiting.promise).rejects.toMatchObject({ code: ErrorCode.LOCK_SESSION_EXPIRED });
    // Nobody holds the lock: the line is empty.
    expect(kv.store.range({ key: b('pay/'), rangeEnd: b('pay0') }).kvs).toHaveLength(0);
  });

  test('a waiter on a lagging member waits for the deletion it has not seen yet, then takes the lock in order', async () => {
    const { kv, first, second, third } = await holderAndTwoWaiters();
    expect(second.done || third.done).toBe(false);
    // The next serializable read of each turn shows the state from before the deletion.
    kv.lagRevisions = 1;
    kv.staleReads = 1;
    const readsBefore = kv.serializable;
    kv.apply({ type: 'deleteKeys', keys: [first.key] });
    const two = await second.promise;
    // It read twice: the stale state (the holder still there), then after the replayed deletion.
    expect(kv.serializable - readsBefore).toBeGreaterThanOrEqual(2);
    await settle();
    expect(third.done).toBe(false);
    kv.staleReads = 1;
    kv.apply({ type: 'deleteKeys', keys: [two.key] });
    const three = await third.promise;
    expect(two.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(three.fencingToken).toBeGreaterThan(two.fencingToken);
    // Each was stamped after the deletion of the holder before it.
    expect(three.header.revision).toBeGreaterThan(two.header.revision);
  });
});

describe('the hand-over in a release', () => {
  const release = (kv: CountingKv, leases: InProcessLeases, key: Uint8Array, token: number) =>
    releaseFencedLock(kv, leases, { key, fencingToken: token, revokeLeaseId: 0 });

  test("the holder's release stamps the next waiter, which answers at that revision without a write of its own", async () => {
    const { kv, leases, held, waiting, w } = await holderAndWaiter();
    kv.txns = 0;
    const released = await release(kv, leases, held.key, held.fencingToken);
    expect(released.released).toBe(true);
    const got = await waiting.promise;
    expect(kv.txns).toBe(1); // the release; the waiter wrote nothing
    expect(got.header.revision).toBeGreaterThanOrEqual(released.header.revision);
    const key = kv.store.range({ key: got.key }).kvs[0]!;
    expect(key.modRevision).toBe(released.header.revision);
    expect(key.value).toEqual(b('worker'));
    expect(key.lease).toBe(w.id);
    expect(got.fencingToken).toBe(key.createRevision);
  });

  test('a stale view whose next waiter already left stamps nobody; the real next waiter stamps itself', async () => {
    const { kv, leases, ids, first: held, second: gone, third } = await holderAndTwoWaiters();
    // The second waiter's lease ends; the releasing member has not applied that yet.
    kv.apply({ type: 'leaseRevoke', id: ids[1]! });
    await expect(gone.promise).rejects.toMatchObject({ code: ErrorCode.LOCK_SESSION_EXPIRED });
    kv.lagRevisions = 1;
    kv.staleReads = 1;
    kv.txns = 0;
    const released = await release(kv, leases, held.key, held.fencingToken);
    expect(released.released).toBe(true);
    const got = await third.promise;
    expect(kv.txns).toBe(2); // the release (its hand-over guard failed) and the waiter's own stamp
    const key = kv.store.range({ key: got.key }).kvs[0]!;
    expect(key.modRevision).toBeGreaterThan(released.header.revision);
    expect(got.header.revision).toBe(key.modRevision);
  });

  test('a release of a read-write lock stamps nobody', async () => {
    const { kv, leases } = counting();
    const writer = await leases.grant(60);
    const reader = await leases.grant(60);
    const rw = (leaseId: number, mode: 'read' | 'write') =>
      acquireFencedLock(kv, leases, request(leaseId), never, { kind: 'rw', mode });
    const held = await rw(writer.id, 'write');
    const waiting = track(rw(reader.id, 'read'));
    await settle();
    expect(waiting.done).toBe(false);
    const before = kv.store.range({ key: b('pay/read-'), rangeEnd: b('pay/read.') }).kvs[0]!;
    const released = await release(kv, leases, held.key, held.fencingToken);
    const after = kv.store.range({ key: before.key }).kvs[0]!;
    expect(after.modRevision === released.header.revision).toBe(false);
    await waiting.promise;
  });
});

describe("the hand-over in etcd's Unlock", () => {
  /** An etcd-recipe holder and a waiter behind it (still waiting), each with its own lease. */
  async function mutexHolderAndWaiter() {
    const { kv, leases } = counting();
    const a = await leases.grant(60);
    const w = await leases.grant(60);
    const held = await acquireLock(kv, b('pay'), a.id, never);
    const waiting = track(acquireLock(kv, b('pay'), w.id, never));
    await settle();
    expect(waiting.done).toBe(false);
    return { kv, leases, held, waiting, a, w };
  }

  test('Unlock stamps the next waiter in its own Txn, and the waiter answers with no linearizable read', async () => {
    const { kv, held, waiting } = await mutexHolderAndWaiter();
    kv.linearizable = 0;
    kv.txns = 0;
    const unlocked = await releaseLock(kv, held.key);
    const got = await waiting.promise;
    expect(kv.linearizable).toBe(0);
    expect(kv.txns).toBe(1);
    expect(got.confirmed).toBe(true);
    expect(got.createRevision).toBeGreaterThan(held.createRevision);
    expect(got.header.revision).toBeGreaterThanOrEqual(unlocked.revision);
    expect(kv.store.range({ key: held.key }).kvs).toHaveLength(0);
    const key = kv.store.range({ key: got.key }).kvs[0]!;
    expect(key.modRevision).toBe(unlocked.revision);
    expect(key.createRevision).toBe(got.createRevision);
    expect(key.value.byteLength).toBe(0);
  });

  test('Unlock of a generation newer than the one its member saw leading deletes the key and stamps nobody', async () => {
    const { kv, held, waiting, a } = await mutexHolderAndWaiter();
    // The holder's key is deleted and put again (a new generation, now behind the waiter),
    // which the unlocking member has not applied yet: its view shows the old generation first.
    kv.apply({ type: 'deleteKeys', keys: [held.key] });
    const turned = await waiting.promise;
    kv.apply({
      type: 'txn',
      request: { success: [{ requestPut: { key: held.key, value: b(''), lease: a.id } }] },
    });
    const rejoined = kv.store.range({ key: held.key }).kvs[0]!;
    kv.lagRevisions = 2;
    kv.staleReads = 1;
    const beforeWaiter = kv.store.range({ key: turned.key }).kvs[0]!;
    const unlocked = await releaseLock(kv, held.key);
    expect(unlocked.revision).toBeGreaterThan(rejoined.modRevision);
    expect(kv.store.range({ key: held.key }).kvs).toHaveLength(0);
    // The waiter that now holds was not stamped by the guarded hand-over.
    expect(kv.store.range({ key: turned.key }).kvs[0]!.modRevision).toBe(beforeWaiter.modRevision);
  });

  test('Unlock of a key that does not lead deletes only that key', async () => {
    const { kv, held, waiting } = await mutexHolderAndWaiter();
    const waiterKey = kv.store.range({ key: b('pay/'), rangeEnd: b('pay0') }).kvs[1]!;
    const holderBefore = kv.store.range({ key: held.key }).kvs[0]!;
    await releaseLock(kv, waiterKey.key);
    await expect(waiting.promise).rejects.toMatchObject({ code: ErrorCode.LOCK_SESSION_EXPIRED });
    expect(kv.store.range({ key: held.key }).kvs[0]!.modRevision).toBe(holderBefore.modRevision);
  });
  test('a caller allowed to delete its key but not to read the line or write the next key still unlocks', async () => {
    const { kv, held, waiting } = await mutexHolderAndWaiter();
    // As an auth rule that grants write on the holder's own key only: the hand-over's read of
    // the line and its write of the next key are refused, the delete is not.
    const own = Buffer.from(held.key);
    const denied = () => new CairnError(ErrorCode.PERMISSION_DENIED, 'etcdserver: permission denied');
    const range = kv.range.bind(kv);
    const txn = kv.txn.bind(kv);
    kv.range = async (req) =>
      Buffer.compare(Buffer.from(req.key), own) === 0 && !req.rangeEnd
        ? range(req)
        : Promise.reject(denied());
    kv.txn = async (req) => {
      const ops = [...(req.success ?? []), ...(req.failure ?? [])];
      const onlyOwnDelete = ops.every(
        (o) => 'requestDeleteRange' in o && Buffer.compare(Buffer.from(o.requestDeleteRange.key), own) === 0,
      );
      return onlyOwnDelete && (req.compare ?? []).length === 0 ? txn(req) : Promise.reject(denied());
    };
    await releaseLock(kv, held.key);
    kv.range = range;
    kv.txn = txn;
    expect(kv.store.range({ key: held.key }).kvs).toHaveLength(0);
    const got = await waiting.promise;
    expect(got.createRevision).toBeGreaterThan(held.createRevision);
  });
});
