// Proves put and delete-range answer as etcd does — prevKv, ignore_value/ignore_lease (and their errors with etcd's strings), lease checks, deletes with prevKvs over every range form — by applying each request to a small store and checking responses and the stored keys.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { b, fails, get, newStore, ok, put, str } from './support.js';

describe('put', () => {
  it('answers prevKv only when asked and only if the key existed', () => {
    const store = newStore();
    const first = ok(store, { type: 'put', request: { key: b('k'), value: b('1'), prevKv: true } });
    expect(first).toEqual({ header: { revision: 2 } });
    const second = ok(store, { type: 'put', request: { key: b('k'), value: b('2'), prevKv: true } });
    expect(second.prevKv).toMatchObject({ value: b('1'), version: 1, modRevision: 2 });
    const third = ok(store, { type: 'put', request: { key: b('k'), value: b('3') } });
    expect(third.prevKv).toBeUndefined();
  });

  it('a put without a value stores an empty one', () => {
    const store = newStore();
    ok(store, { type: 'put', request: { key: b('k') } });
    expect(get(store, 'k')?.value).toEqual(new Uint8Array(0));
  });

  it('ignoreValue keeps the value and ignoreLease keeps the lease, as new versions', () => {
    const store = newStore();
    put(store, 'k', 'v', 9);
    ok(store, { type: 'put', request: { key: b('k'), ignoreValue: true, lease: 4 } });
    expect(get(store, 'k')).toMatchObject({ value: b('v'), lease: 4, version: 2 });
    ok(store, { type: 'put', request: { key: b('k'), value: b('w'), ignoreLease: true } });
    expect(get(store, 'k')).toMatchObject({ value: b('w'), lease: 4, version: 3 });
  });

  it('ignoreValue or ignoreLease on a missing key: "etcdserver: key not found"', () => {
    const store = newStore();
    for (const flag of ['ignoreValue', 'ignoreLease'] as const) {
      const err = fails(store, { type: 'put', request: { key: b('missing'), [flag]: true } });
      expect(err.code).toBe(ErrorCode.KEY_NOT_FOUND);
      expect(err.message).toBe('etcdserver: key not found');
    }
  });

  it('a deleted key counts as missing for ignoreValue', () => {
    const store = newStore();
    put(store, 'k', 'v');
    ok(store, { type: 'deleteRange', request: { key: b('k') } });
    expect(fails(store, { type: 'put', request: { key: b('k'), ignoreValue: true } }).code).toBe(
      ErrorCode.KEY_NOT_FOUND,
    );
  });

  it('refuses a value with ignoreValue, a lease with ignoreLease and an empty key', () => {
    const store = newStore();
    put(store, 'k', 'v');
    const value = fails(store, { type: 'put', request: { key: b('k'), value: b('x'), ignoreValue: true } });
    expect([value.code, value.message]).toEqual([ErrorCode.VALUE_PROVIDED, 'etcdserver: value is provided']);
    const lease = fails(store, { type: 'put', request: { key: b('k'), lease: 3, ignoreLease: true } });
    expect([lease.code, lease.message]).toEqual([ErrorCode.LEASE_PROVIDED, 'etcdserver: lease is provided']);
    const empty = fails(store, { type: 'put', request: { key: new Uint8Array(0), value: b('x') } });
    expect([empty.code, empty.message]).toEqual([ErrorCode.EMPTY_KEY, 'etcdserver: key is not provided']);
  });

  it('refuses a lease the lease state machine does not know, checking the lease before the key', () => {
    const store = newStore({ leaseExists: (id) => id === 5 });
    const err = fails(store, { type: 'put', request: { key: b('k'), value: b('v'), lease: 6 } });
    expect([err.code, err.message]).toEqual([
      ErrorCode.LEASE_NOT_FOUND,
      'etcdserver: requested lease not found',
    ]);
    const both = fails(store, { type: 'put', request: { key: b('missing'), ignoreValue: true, lease: 6 } });
    expect(both.code).toBe(ErrorCode.LEASE_NOT_FOUND);
    expect(
      ok(store, { type: 'put', request: { key: b('k'), value: b('v'), lease: 5 } }).header.revision,
    ).toBe(2);
  });
});

describe('deleteRange', () => {
  it('deletes a single key, a range, a prefix and everything from a key, with prevKvs in key order', () => {
    const store = newStore();
    for (const k of ['a', 'b', 'c/1', 'c/2', 'd', 'e']) put(store, k, `v-${k}`);
    const single = ok(store, { type: 'deleteRange', request: { key: b('a'), prevKv: true } });
    expect(single.deleted).toBe(1);
    expect(single.prevKvs.map((kv) => str(kv.value))).toEqual(['v-a']);
    const prefix = ok(store, {
      type: 'deleteRange',
      request: { key: b('c/'), rangeEnd: b('c0'), prevKv: true },
    });
    expect(prefix.prevKvs.map((kv) => str(kv.key))).toEqual(['c/1', 'c/2']);
    const fromKey = ok(store, { type: 'deleteRange', request: { key: b('d'), rangeEnd: Uint8Array.of(0) } });
    expect(fromKey).toEqual({ header: { revision: 10 }, deleted: 2, prevKvs: [] });
    expect(
      store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) }).kvs.map((kv) => str(kv.key)),
    ).toEqual(['b']);
  });

  it('prevKvs carry the last version of each deleted key', () => {
    const store = newStore();
    put(store, 'k', '1');
    put(store, 'k', '2');
    const resp = ok(store, { type: 'deleteRange', request: { key: b('k'), prevKv: true } });
    expect(resp.prevKvs).toEqual([
      { key: b('k'), value: b('2'), createRevision: 2, modRevision: 3, version: 2, lease: 0 },
    ]);
  });

  it('refuses an empty key', () => {
    const err = fails(newStore(), { type: 'deleteRange', request: { key: new Uint8Array(0) } });
    expect(err.code).toBe(ErrorCode.EMPTY_KEY);
  });
});
