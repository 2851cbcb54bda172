// Proves apply reports the watch events of each revision (type, kv, prevKv, order) and supports the lease hooks — keysOfLease tracks live attachments and deleteKeys removes them in one revision with one DELETE event each — by applying writes and inspecting results and lease queries.
import { describe, expect, it } from 'vitest';
import { EventType, type MvccEvent } from '../../src/mvcc/index.js';
import { kvOf } from '../../src/mvcc/slab-record.js';
import { b, get, newStore, ok, put, str } from './support.js';

const brief = (events: readonly MvccEvent[]) =>
  events.map((e) => ({
    type: e.type,
    key: str(e.kv.key),
    mod: e.kv.modRevision,
    value: str(e.kv.value),
    prev: e.prevKv === undefined ? undefined : str(e.prevKv.value),
  }));

describe('events', () => {
  it('a put gives one PUT event with the new kv and the previous one', () => {
    const store = newStore();
    const first = store.apply({ type: 'put', request: { key: b('k'), value: b('1') } });
    expect(brief(first.events)).toEqual([
      { type: EventType.Put, key: 'k', mod: 2, value: '1', prev: undefined },
    ]);
    const second = store.apply({ type: 'put', request: { key: b('k'), value: b('2') } });
    expect(brief(second.events)).toEqual([{ type: EventType.Put, key: 'k', mod: 3, value: '2', prev: '1' }]);
    expect(second.events[0]!.kv).toMatchObject({ createRevision: 2, version: 2 });
  });

  it('a delete gives DELETE events whose kv has only key and mod revision set (as etcd)', () => {
    const store = newStore();
    put(store, 'a', '1');
    put(store, 'b', '2');
    const result = store.apply({ type: 'deleteRange', request: { key: b('a'), rangeEnd: b('c') } });
    expect(result.events.map((e) => e.kv)).toEqual([
      { key: b('a'), createRevision: 0, modRevision: 4, version: 0, value: new Uint8Array(0), lease: 0 },
      { key: b('b'), createRevision: 0, modRevision: 4, version: 0, value: new Uint8Array(0), lease: 0 },
    ]);
    expect(brief(result.events).map((e) => [e.type, e.prev])).toEqual([
      [EventType.Delete, '1'],
      [EventType.Delete, '2'],
    ]);
  });

  it('writes that change nothing and failed commands give no events', () => {
    const store = newStore();
    expect(store.apply({ type: 'deleteRange', request: { key: b('none') } }).events).toEqual([]);
    expect(store.apply({ type: 'put', request: { key: b('x'), ignoreValue: true } }).events).toEqual([]);
  });

  it('events match the written records one for one', () => {
    const store = newStore();
    put(store, 'a', '1');
    const result = store.apply({
      type: 'txn',
      request: {
        success: [
          { requestPut: { key: b('b'), value: b('2') } },
          { requestDeleteRange: { key: b('a') } },
          { requestPut: { key: b('c'), value: b('3') } },
        ],
      },
    });
    const written = result.changes.revisions.flatMap((r) => r.records);
    expect(result.events.map((e) => e.kv)).toEqual(written.map((r) => kvOf(r)));
    expect(result.events.map((e) => e.type)).toEqual(written.map((r) => r.type));
  });
});

describe('lease hooks', () => {
  it('keysOfLease follows puts that attach, move and detach keys, and deletes', () => {
    const store = newStore();
    put(store, 'b', 'v', 7);
    put(store, 'a', 'v', 7);
    put(store, 'c', 'v', 8);
    expect(store.keysOfLease(7).map(str)).toEqual(['a', 'b']);
    put(store, 'b', 'v', 8);
    expect(store.keysOfLease(7).map(str)).toEqual(['a']);
    expect(store.keysOfLease(8).map(str)).toEqual(['b', 'c']);
    ok(store, { type: 'put', request: { key: b('c'), value: b('w'), ignoreLease: true } });
    expect(store.keysOfLease(8).map(str)).toEqual(['b', 'c']);
    put(store, 'c', 'v', 0);
    ok(store, { type: 'deleteRange', request: { key: b('a') } });
    expect(store.keysOfLease(7)).toEqual([]);
    expect(store.keysOfLease(8).map(str)).toEqual(['b']);
    expect(store.keysOfLease(0)).toEqual([]);
  });

  it('deleteKeys deletes the live keys among those given in one revision, one DELETE each, skipping missing and repeated ones', () => {
    const store = newStore();
    put(store, 'a', '1', 5);
    put(store, 'b', '2', 5);
    put(store, 'keep', '3');
    const result = store.apply({ type: 'deleteKeys', keys: [b('b'), b('missing'), b('a'), b('b')] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.response).toEqual({ header: { revision: 5 }, deleted: 2 });
    expect(result.events.map((e) => [e.type, str(e.kv.key), e.kv.modRevision])).toEqual([
      [EventType.Delete, 'a', 5],
      [EventType.Delete, 'b', 5],
    ]);
    expect(store.keysOfLease(5)).toEqual([]);
    expect(get(store, 'keep')).toBeDefined();
  });

  it('deleteKeys of nothing live leaves the revision', () => {
    const store = newStore();
    put(store, 'a', '1');
    const resp = ok(store, { type: 'deleteKeys', keys: [b('x')] });
    expect(resp).toEqual({ header: { revision: 2 }, deleted: 0 });
    expect(store.currentRevision).toBe(2);
  });
});
