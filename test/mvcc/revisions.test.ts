// Proves the revision rules clients rely on (ETCD-COMPAT "Revisions"): the empty store is at 1, each changing write raises it by one, non-changing ones do not, and per-key create/mod revision, version (reset on re-create) and lease follow etcd, by applying writes and reading the keys back.
import { describe, expect, it } from 'vitest';
import { b, del, get, newStore, ok, put } from './support.js';

describe('store revision', () => {
  it('starts at 1 and a read does not move it', () => {
    const store = newStore();
    expect(store.currentRevision).toBe(1);
    const resp = store.range({ key: b('a') });
    expect(resp.header.revision).toBe(1);
    expect(resp.count).toBe(0);
    expect(store.currentRevision).toBe(1);
  });

  it('each put raises it by exactly one, and the put answers the new revision', () => {
    const store = newStore();
    expect(put(store, 'a', '1')).toBe(2);
    expect(put(store, 'b', '1')).toBe(3);
    expect(put(store, 'a', '2')).toBe(4);
    expect(store.currentRevision).toBe(4);
  });

  it('a delete that deletes something raises it; one that deletes nothing does not and answers the current revision', () => {
    const store = newStore();
    put(store, 'a', '1');
    const none = ok(store, { type: 'deleteRange', request: { key: b('zzz') } });
    expect(none).toEqual({ header: { revision: 2 }, deleted: 0, prevKvs: [] });
    expect(store.currentRevision).toBe(2);
    const one = ok(store, { type: 'deleteRange', request: { key: b('a') } });
    expect(one.header.revision).toBe(3);
    expect(one.deleted).toBe(1);
    expect(store.currentRevision).toBe(3);
  });

  it('a delete of many keys takes one revision', () => {
    const store = newStore();
    for (const k of ['p/1', 'p/2', 'p/3']) put(store, k, 'v');
    expect(del(store, 'p/', 'p0')).toBe(3);
    expect(store.currentRevision).toBe(5);
  });
});

describe('per-key revisions and version', () => {
  it('create revision stays, mod revision and version move with each put', () => {
    const store = newStore();
    put(store, 'k', 'v1');
    put(store, 'other', 'x');
    put(store, 'k', 'v2');
    put(store, 'k', 'v3');
    expect(get(store, 'k')).toMatchObject({ createRevision: 2, modRevision: 5, version: 3 });
    expect(get(store, 'other')).toMatchObject({ createRevision: 3, modRevision: 3, version: 1 });
  });

  it('re-creating a deleted key starts a new generation: version 1 and a new create revision', () => {
    const store = newStore();
    put(store, 'k', 'a');
    put(store, 'k', 'b');
    del(store, 'k');
    expect(get(store, 'k')).toBeUndefined();
    put(store, 'k', 'c');
    expect(get(store, 'k')).toMatchObject({ createRevision: 5, modRevision: 5, version: 1 });
    put(store, 'k', 'd');
    expect(get(store, 'k')).toMatchObject({ createRevision: 5, modRevision: 6, version: 2 });
  });

  it('stores the lease id on the key and replaces it on the next put', () => {
    const store = newStore();
    put(store, 'k', 'v', 7);
    expect(get(store, 'k')?.lease).toBe(7);
    put(store, 'k', 'v', 0);
    expect(get(store, 'k')?.lease).toBe(0);
  });

  it('keeps empty values and binary keys exactly', () => {
    const store = newStore();
    const key = Uint8Array.from([0, 255, 1, 128]);
    ok(store, { type: 'put', request: { key, value: new Uint8Array(0) } });
    const kv = store.range({ key }).kvs[0];
    expect(kv?.key).toEqual(key);
    expect(kv?.value).toEqual(new Uint8Array(0));
  });
});
