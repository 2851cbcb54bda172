/**
 * Proves the LockService recipe and its queries over a real MvccStore in process (with an
 * in-test lease table whose revoke deletes the lease's keys, as the server's does): the owner
 * is the key's value, holders come in line order with growing fencing tokens, a waiter whose
 * turn comes is stamped with the revision it was confirmed at, timeouts and cancels leave the
 * line, TryAcquire writes nothing when refused, a lease granted for a TTL is kept alive only
 * while its call waits and revoked if the call fails, and Describe/List report holders and
 * waiters. Pending waits are observed by settling the event loop, not by timing.
 */
import { describe, expect, test } from 'vitest';
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import {
  acquireFencedLock,
  type LockRequest,
  OWNER_BYTES_MAX,
  releaseFencedLock,
  tryAcquireFencedLock,
} from '../../src/coordination/fenced-lock.js';
import { acquireLock } from '../../src/coordination/lock.js';
import { describeLock, listLocks, lockNameOf } from '../../src/coordination/lock-queries.js';
import type { CoordinationLeases } from '../../src/coordination/ports.js';
import { eventually } from '../support/eventually.js';
import { b, InProcessKv, settle, str, track } from './support.js';

const never = new AbortController().signal;

/** Leases kept in a map; revoke deletes the lease's keys in one revision, as the server's revoke. */
class TestLeases implements CoordinationLeases {
  readonly ttlById = new Map<number, number>();
  renewals = 0;
  private nextId = 0x100;
  kv: InProcessKv | undefined;

  async grant(ttlSeconds: number): Promise<{ id: number; ttlSeconds: number }> {
    const id = this.nextId++;
    this.ttlById.set(id, ttlSeconds);
    return { id, ttlSeconds };
  }
  async revoke(id: number): Promise<void> {
    if (!this.ttlById.delete(id)) throw new CairnError(ErrorCode.LEASE_NOT_FOUND, 'no lease');
    const keys = this.kv!.store.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) })
      .kvs.filter((kv) => kv.lease === id)
      .map((kv) => kv.key);
    if (keys.length > 0) this.kv!.apply({ type: 'deleteKeys', keys });
  }
  async renew(id: number): Promise<number> {
    this.renewals++;
    return this.ttlById.get(id) ?? 0;
  }
  async timeToLive(id: number): Promise<{ ttlSeconds: number; grantedTtlSeconds: number }> {
    const ttl = this.ttlById.get(id);
    return ttl === undefined
      ? { ttlSeconds: -1, grantedTtlSeconds: 0 }
      : { ttlSeconds: ttl, grantedTtlSeconds: ttl };
  }
}

function setup(): { kv: InProcessKv; leases: TestLeases } {
  const leases = new TestLeases();
  const kv = new InProcessKv({ leaseExists: (id) => leases.ttlById.has(id) });
  leases.kv = kv;
  return { kv, leases };
}

async function req(
  leases: TestLeases,
  name: string,
  owner: string,
  extra: Partial<LockRequest> = {},
): Promise<LockRequest> {
  const leaseId = extra.ttlSeconds ? 0 : (await leases.grant(60)).id;
  return { name: b(name), leaseId, ttlSeconds: 0, waitTimeoutMs: 0, owner: b(owner), ...extra };
}

describe('fenced lock recipe', () => {
  test("the owner is the key's value; Describe reports holder, token, lease, acquired-at and TTL", async () => {
    const { kv, leases } = setup();
    const r = await req(leases, 'pay/ledger', 'svc-a pid 1');
    const held = await acquireFencedLock(kv, leases, r, never);
    expect(str(held.key)).toBe(`pay/ledger/${r.leaseId.toString(16)}`);
    const stored = kv.store.range({ key: held.key }).kvs[0]!;
    expect(str(stored.value)).toBe('svc-a pid 1');
    expect(stored.lease).toBe(r.leaseId);
    expect(held.fencingToken).toBe(stored.createRevision);
    expect(held.grantedTtlSeconds).toBe(0);

    const d = await describeLock(kv, leases, b('pay/ledger'));
    expect(d.holder).toMatchObject({
      owner: b('svc-a pid 1'),
      createRevision: held.fencingToken,
      leaseId: r.leaseId,
      modRevision: held.fencingToken,
      remainingTtlSeconds: 60,
    });
    expect(d.waiters).toEqual([]);
  });

  test('waiters hold in line order with growing tokens; each is stamped when its turn comes', async () => {
    const { kv, leases } = setup();
    const a = await acquireFencedLock(kv, leases, await req(leases, 'l', 'a'), never);
    const bWait = track(acquireFencedLock(kv, leases, await req(leases, 'l', 'b'), never));
    await settle();
    const cWait = track(acquireFencedLock(kv, leases, await req(leases, 'l', 'c'), never));
    await settle();
    const d = await describeLock(kv, leases, b('l'));
    expect(str(d.holder!.owner)).toBe('a');
    expect(d.waiters.map((w) => str(w.owner))).toEqual(['b', 'c']);
    expect(bWait.done || cWait.done).toBe(false);

    await releaseFencedLock(kv, leases, { key: a.key, fencingToken: 0, revokeLeaseId: 0 });
    const heldB = await bWait.promise;
    await settle();
    expect(cWait.done).toBe(false);
    expect(heldB.fencingToken).toBeGreaterThan(a.fencingToken);
    const dB = await describeLock(kv, leases, b('l'));
    expect(dB.holder!.createRevision).toBe(heldB.fencingToken);
    // Confirmed after the release: the stamp's revision is the answer's.
    expect(dB.holder!.modRevision).toBe(heldB.header.revision);
    expect(dB.holder!.modRevision).toBeGreaterThan(heldB.fencingToken);
    expect(str(dB.holder!.owner)).toBe('b');

    await releaseFencedLock(kv, leases, {
      key: heldB.key,
      fencingToken: heldB.fencingToken,
      revokeLeaseId: 0,
    });
    const heldC = await cWait.promise;
    expect(heldC.fencingToken).toBeGreaterThan(heldB.fencingToken);
  });

  test('a wait that times out fails with LOCK_WAIT_TIMEOUT and leaves the line', async () => {
    const { kv, leases } = setup();
    await acquireFencedLock(kv, leases, await req(leases, 't', 'a'), never);
    const r = await req(leases, 't', 'b', { waitTimeoutMs: 20 });
    await expect(acquireFencedLock(kv, leases, r, never)).rejects.toMatchObject({
      code: ErrorCode.LOCK_WAIT_TIMEOUT,
    });
    expect((await describeLock(kv, leases, b('t'))).waiters).toEqual([]);
    expect(kv.feed.watcherCount).toBe(0);
    // The caller's own lease is the caller's: it is not revoked.
    expect(leases.ttlById.has(r.leaseId)).toBe(true);
  });

  test('a cancelled wait fails with CANCELLED (not a timeout) and leaves the line', async () => {
    const { kv, leases } = setup();
    await acquireFencedLock(kv, leases, await req(leases, 'c', 'a'), never);
    const cancel = new AbortController();
    const waiting = acquireFencedLock(
      kv,
      leases,
      await req(leases, 'c', 'b', { waitTimeoutMs: 60_000 }),
      cancel.signal,
    );
    await settle();
    expect((await describeLock(kv, leases, b('c'))).waiters).toHaveLength(1);
    cancel.abort();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.CANCELLED });
    expect((await describeLock(kv, leases, b('c'))).waiters).toEqual([]);
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('with a TTL the recipe grants the lease, renews it only while waiting, and revokes it if the call fails', async () => {
    const { kv, leases } = setup();
    const a = await acquireFencedLock(kv, leases, await req(leases, 's', 'a'), never);
    const r = await req(leases, 's', 'b', { ttlSeconds: 1 });
    const waiting = track(acquireFencedLock(kv, leases, r, never));
    await eventually(async () => expect(leases.renewals).toBeGreaterThan(0), 10_000, 50);
    await releaseFencedLock(kv, leases, { key: a.key, fencingToken: 0, revokeLeaseId: 0 });
    const held = await waiting.promise;
    expect(held.grantedTtlSeconds).toBe(1);
    expect(leases.ttlById.has(held.leaseId)).toBe(true);
    expect(kv.store.range({ key: held.key }).kvs[0]!.lease).toBe(held.leaseId);
    // From the answer on the caller keeps the lease alive: the recipe's renewals stopped.
    const renewals = leases.renewals;
    await new Promise((res) => setTimeout(res, 400));
    expect(leases.renewals).toBe(renewals);

    const timedOut = acquireFencedLock(
      kv,
      leases,
      await req(leases, 's', 'c', { ttlSeconds: 5, waitTimeoutMs: 10 }),
      never,
    );
    await expect(timedOut).rejects.toMatchObject({ code: ErrorCode.LOCK_WAIT_TIMEOUT });
    // Only the holder's lease and the lease of the earlier request helper remain.
    const granted = [...leases.ttlById.entries()].filter(([, ttl]) => ttl === 5);
    expect(granted).toEqual([]);
  });

  test('TryAcquire takes a free lock, and refuses a held one writing nothing and revoking what it granted', async () => {
    const { kv, leases } = setup();
    const first = await tryAcquireFencedLock(kv, leases, await req(leases, 'x', 'a'));
    expect(first.acquired).toBe(true);
    const token = first.acquired ? first.lock.fencingToken : 0;
    const before = kv.store.currentRevision;
    const refused = await tryAcquireFencedLock(kv, leases, await req(leases, 'x', 'b', { ttlSeconds: 7 }));
    expect(refused.acquired).toBe(false);
    if (!refused.acquired) {
      expect(str(refused.holder!.owner)).toBe('a');
      expect(refused.holder!.createRevision).toBe(token);
    }
    expect(kv.store.currentRevision).toBe(before);
    expect([...leases.ttlById.values()]).not.toContain(7);
    expect((await describeLock(kv, leases, b('x'))).waiters).toEqual([]);
  });

  test('TryAcquire repeated with the lease that holds answers the same token', async () => {
    const { kv, leases } = setup();
    const r = await req(leases, 'y', 'a');
    const one = await tryAcquireFencedLock(kv, leases, r);
    const two = await tryAcquireFencedLock(kv, leases, r);
    expect(one.acquired && two.acquired).toBe(true);
    if (one.acquired && two.acquired) expect(two.lock.fencingToken).toBe(one.lock.fencingToken);
  });

  test('Release with a stale fencing token deletes nothing; revoke_lease ends the session', async () => {
    const { kv, leases } = setup();
    const r = await req(leases, 'r', 'a');
    const held = await acquireFencedLock(kv, leases, r, never);
    const stale = await releaseFencedLock(kv, leases, {
      key: held.key,
      fencingToken: held.fencingToken - 1,
      revokeLeaseId: 0,
    });
    expect(stale.released).toBe(false);
    expect(kv.store.range({ key: held.key }).kvs).toHaveLength(1);
    const done = await releaseFencedLock(kv, leases, {
      key: held.key,
      fencingToken: held.fencingToken,
      revokeLeaseId: r.leaseId,
    });
    expect(done.released).toBe(true);
    expect(leases.ttlById.has(r.leaseId)).toBe(false);
    const again = await releaseFencedLock(kv, leases, {
      key: held.key,
      fencingToken: 0,
      revokeLeaseId: r.leaseId,
    });
    expect(again.released).toBe(false);
  });

  test("a key put by etcd's recipe (empty value) leads the line and is described with an empty owner", async () => {
    const { kv, leases } = setup();
    const etcdLease = (await leases.grant(10)).id;
    await acquireLock(kv, b('e'), etcdLease, never);
    const waiting = track(acquireFencedLock(kv, leases, await req(leases, 'e', 'cairn'), never));
    await settle();
    const d = await describeLock(kv, leases, b('e'));
    expect(d.holder).toMatchObject({ owner: new Uint8Array(0), leaseId: etcdLease, remainingTtlSeconds: 10 });
    expect(d.waiters.map((w) => str(w.owner))).toEqual(['cairn']);
    expect(waiting.done).toBe(false);
    await leases.revoke(etcdLease);
    expect(str((await waiting.promise).key)).toMatch(/^e\//);
  });

  test('List groups keys by lock name, counts waiters and does not confuse a/b with a', async () => {
    const { kv, leases } = setup();
    await acquireFencedLock(kv, leases, await req(leases, 'locks/a', 'a1'), never);
    const w1 = track(acquireFencedLock(kv, leases, await req(leases, 'locks/a', 'a2'), never));
    const w2 = track(acquireFencedLock(kv, leases, await req(leases, 'locks/a', 'a3'), never));
    await acquireFencedLock(kv, leases, await req(leases, 'locks/a/b', 'ab1'), never);
    await acquireFencedLock(kv, leases, await req(leases, 'locks/c', 'c1'), never);
    kv.apply({ type: 'put', request: { key: b('locks/readme'), value: b('not a lock') } });
    await settle();
    const all = await listLocks(kv, leases, b('locks/'), 0);
    expect(all.locks.map((l) => [str(l.name), str(l.holder.owner), l.waiters])).toEqual([
      ['locks/a', 'a1', 2],
      ['locks/a/b', 'ab1', 0],
      ['locks/c', 'c1', 0],
    ]);
    expect(all.more).toBe(false);
    // A Buffer prefix (as gRPC decodes bytes) is read, not changed.
    const asBuffer = Buffer.from('locks/');
    expect((await listLocks(kv, leases, asBuffer, 0)).locks).toHaveLength(3);
    expect(asBuffer.toString()).toBe('locks/');
    const one = await listLocks(kv, leases, b('locks/'), 1);
    expect(one.locks).toHaveLength(1);
    expect(one.more).toBe(true);
    const d = await describeLock(kv, leases, b('locks/a'));
    expect(d.waiters.map((w) => str(w.owner))).toEqual(['a2', 'a3']);
    expect(w1.done || w2.done).toBe(false);
    expect(lockNameOf(b('locks/a/ff'))).toEqual(b('locks/a'));
    expect(lockNameOf(b('locks/a/0ff'))).toBeUndefined();
    expect(lockNameOf(b('locks/a/FF'))).toBeUndefined();
  });

  test('bad requests are refused before anything is written', async () => {
    const { kv, leases } = setup();
    const before = kv.store.currentRevision;
    const base = await req(leases, 'v', 'a');
    for (const bad of [
      { ...base, ttlSeconds: 5 },
      { ...base, leaseId: 0 },
      { ...base, owner: new Uint8Array(OWNER_BYTES_MAX + 1) },
      { ...base, waitTimeoutMs: -1 },
    ]) {
      await expect(acquireFencedLock(kv, leases, bad, never)).rejects.toMatchObject({
        code: ErrorCode.INVALID_ARGUMENT,
      });
    }
    expect(kv.store.currentRevision).toBe(before);
  });
});
