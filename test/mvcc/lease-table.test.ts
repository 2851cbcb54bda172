// Proves the replicated lease table: grants and revokes are deterministic commands (existing ids, id 0 and huge TTLs refused with etcd's errors), a revoke deletes every attached key in one revision with one DELETE event each, the store refuses keys on leases it does not hold, and leases survive the change buffer, persistence and snapshots — by applying commands to real stores and reading them back.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import {
  decodeCommand,
  EventType,
  encodeCommand,
  LEASE_TTL_SECONDS_MAX,
  MvccChangeBuffer,
  MvccStore,
} from '../../src/mvcc/index.js';
import { b, fails, get, ok, put, str } from './support.js';

/** A store that checks leases against its own table, as a member's store does. */
const real = () => new MvccStore();

describe('lease table', () => {
  it('grants a lease and refuses the same id again, id 0 and a TTL above the maximum', () => {
    const s = real();
    const r = ok(s, { type: 'leaseGrant', id: 7, ttlSeconds: 10 });
    expect(r).toEqual({ header: { revision: 1 }, id: 7, ttlSeconds: 10 });
    expect(s.lease(7)).toEqual({ id: 7, ttlSeconds: 10 });
    expect(fails(s, { type: 'leaseGrant', id: 7, ttlSeconds: 5 }).code).toBe(ErrorCode.LEASE_EXISTS);
    expect(fails(s, { type: 'leaseGrant', id: 0, ttlSeconds: 5 }).code).toBe(ErrorCode.INVALID_ARGUMENT);
    const big = fails(s, { type: 'leaseGrant', id: 8, ttlSeconds: LEASE_TTL_SECONDS_MAX + 1 });
    expect(big.message).toBe('etcdserver: too large lease TTL');
    expect(s.leases().map((l) => l.id)).toEqual([7]);
  });

  it('refuses a put on a lease that was never granted, accepts it once granted', () => {
    const s = real();
    const err = fails(s, { type: 'put', request: { key: b('k'), value: b('v'), lease: 9 } });
    expect(err.message).toBe('etcdserver: requested lease not found');
    ok(s, { type: 'leaseGrant', id: 9, ttlSeconds: 10 });
    expect(put(s, 'k', 'v', 9)).toBe(2);
    expect(get(s, 'k')?.lease).toBe(9);
  });

  it('a revoke deletes every attached key in one revision, one DELETE event each, and leaves other keys', () => {
    const s = real();
    ok(s, { type: 'leaseGrant', id: 1, ttlSeconds: 10 });
    put(s, 'a', '1', 1);
    put(s, 'b', '2', 1);
    put(s, 'c', '3');
    put(s, 'b', '2b', 1);
    const before = s.currentRevision;
    const result = s.apply({ type: 'leaseRevoke', id: 1 });
    expect(result.ok).toBe(true);
    expect(s.currentRevision).toBe(before + 1);
    expect(result.events.map((e) => [e.type, str(e.kv.key), e.kv.modRevision])).toEqual([
      [EventType.Delete, 'a', before + 1],
      [EventType.Delete, 'b', before + 1],
    ]);
    expect(get(s, 'a')).toBeUndefined();
    expect(get(s, 'c')?.value).toEqual(b('3'));
    expect(s.lease(1)).toBeUndefined();
    expect(result.changes.leasesRevoked).toEqual([1]);
    expect(fails(s, { type: 'leaseRevoke', id: 1 }).message).toBe('etcdserver: requested lease not found');
  });

  it('a revoke of a lease without keys writes no revision', () => {
    const s = real();
    ok(s, { type: 'leaseGrant', id: 2, ttlSeconds: 10 });
    const r = ok(s, { type: 'leaseRevoke', id: 2 });
    expect(r).toEqual({ header: { revision: 1 }, deleted: 0 });
  });

  it('a key moved to another lease is not deleted with the first one', () => {
    const s = real();
    ok(s, { type: 'leaseGrant', id: 1, ttlSeconds: 10 });
    ok(s, { type: 'leaseGrant', id: 2, ttlSeconds: 10 });
    put(s, 'k', 'v', 1);
    put(s, 'k', 'w', 2);
    expect(ok(s, { type: 'leaseRevoke', id: 1 }).deleted).toBe(0);
    expect(get(s, 'k')?.value).toEqual(b('w'));
  });

  it('the change buffer keeps only the last thing that happened to each lease in a batch', () => {
    const s = real();
    const buf = new MvccChangeBuffer();
    buf.add(s.apply({ type: 'leaseGrant', id: 1, ttlSeconds: 5 }).changes);
    buf.add(s.apply({ type: 'leaseGrant', id: 2, ttlSeconds: 6 }).changes);
    buf.add(s.apply({ type: 'leaseRevoke', id: 1 }).changes);
    buf.add(s.apply({ type: 'leaseRevoke', id: 2 }).changes);
    buf.add(s.apply({ type: 'leaseGrant', id: 2, ttlSeconds: 7 }).changes);
    const taken = buf.take();
    expect(taken?.leasesGranted).toEqual([{ id: 2, ttlSeconds: 7 }]);
    expect(taken?.leasesRevoked).toEqual([1]);
    expect(buf.take()).toBeUndefined();
  });

  it('leases survive persistence and snapshots', () => {
    const s = real();
    ok(s, { type: 'leaseGrant', id: 3, ttlSeconds: 30 });
    ok(s, { type: 'leaseGrant', id: 4, ttlSeconds: 40 });
    put(s, 'x', '1', 4);
    const p = s.persisted();
    const loaded = MvccStore.load({ meta: p.meta, records: [...p.records], leases: p.leases ?? [] });
    expect(loaded.leases()).toEqual(s.leases());
    expect(loaded.keysOfLease(4)).toEqual([b('x')]);
    const restored = MvccStore.restore(collectBytes(s.snapshot(99))).store;
    expect(restored.leases()).toEqual([
      { id: 3, ttlSeconds: 30 },
      { id: 4, ttlSeconds: 40 },
    ]);
    expect(ok(restored, { type: 'leaseRevoke', id: 4 }).deleted).toBe(1);
  });

  it('lease commands round-trip through the command codec', () => {
    for (const c of [
      { type: 'leaseGrant', id: 2 ** 52 + 3, ttlSeconds: 60 },
      { type: 'leaseRevoke', id: 12345 },
    ] as const) {
      expect(decodeCommand(encodeCommand(c))).toEqual(c);
    }
  });
});
