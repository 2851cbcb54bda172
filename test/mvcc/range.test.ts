// Proves range follows etcd for every option — key-range forms (single, interval, prefix, "\0" from-key), history reads, limit with more, count, count/keys only, min/max revision filters, every sort target and order, and the revision errors — by filling a store with known keys and checking each answer.
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { type MvccStore, SortOrder, SortTarget } from '../../src/mvcc/index.js';
import { b, del, get, keysOf, newStore, put, rangeKeys, str, thrown } from './support.js';

/** Rev 2..6: a=1, b=22, c/1=333, c/2=4, d=5 ; rev 7: a=55 ; rev 8: delete b. */
function filled(): MvccStore {
  const store = newStore();
  put(store, 'a', '1');
  put(store, 'b', '22');
  put(store, 'c/1', '333');
  put(store, 'c/2', '4');
  put(store, 'd', '5');
  put(store, 'a', '55');
  del(store, 'b');
  return store;
}

describe('key ranges', () => {
  let store: MvccStore;
  beforeEach(() => {
    store = filled();
  });

  it('an empty range end reads the single key', () => {
    expect(keysOf(store.range({ key: b('c/1') }))).toEqual(['c/1']);
    expect(keysOf(store.range({ key: b('c') }))).toEqual([]);
    expect(keysOf(store.range({ key: b('c'), rangeEnd: new Uint8Array(0) }))).toEqual([]);
  });

  it('[key, end) is half-open and bytewise', () => {
    expect(rangeKeys(store, 'a', 'd')).toEqual(['a', 'c/1', 'c/2']);
    expect(rangeKeys(store, 'c/1', 'c/2')).toEqual(['c/1']);
    expect(rangeKeys(store, 'd', 'a')).toEqual([]);
  });

  it('a prefix is [p, p+1)', () => {
    expect(rangeKeys(store, 'c/', 'c0')).toEqual(['c/1', 'c/2']);
  });

  it('a range end of "\\0" reads every key from key on; key "\\0" with it reads everything', () => {
    expect(keysOf(store.range({ key: b('c'), rangeEnd: Uint8Array.of(0) }))).toEqual(['c/1', 'c/2', 'd']);
    expect(keysOf(store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) }))).toEqual([
      'a',
      'c/1',
      'c/2',
      'd',
    ]);
  });

  it('the header carries the current revision', () => {
    expect(store.range({ key: b('a') }).header.revision).toBe(8);
    expect(store.range({ key: b('a'), revision: 3 }).header.revision).toBe(8);
  });
});

describe('history reads', () => {
  it('reads every key as it was at a past revision', () => {
    const store = filled();
    expect(str(get(store, 'a', 2)!.value)).toBe('1');
    expect(str(get(store, 'a', 6)!.value)).toBe('1');
    expect(str(get(store, 'a', 7)!.value)).toBe('55');
    expect(get(store, 'b', 7)).toMatchObject({ version: 1, modRevision: 3 });
    expect(get(store, 'b', 8)).toBeUndefined();
    expect(get(store, 'd', 5)).toBeUndefined();
    expect(rangeKeys(store, 'a', 'z', { revision: 4 })).toEqual(['a', 'b', 'c/1']);
    expect(rangeKeys(store, 'a', 'z', { revision: 1 })).toEqual([]);
  });

  it('a revision above the current one is a future revision; 0 or negative reads the current one', () => {
    const store = filled();
    const err = thrown(() => store.range({ key: b('a'), revision: 9 }));
    expect(err.code).toBe(ErrorCode.FUTURE_REVISION);
    expect(err.message).toBe('etcdserver: mvcc: required revision is a future revision');
    expect(str(store.range({ key: b('a'), revision: -3 }).kvs[0]!.value)).toBe('55');
  });

  it('refuses an empty key', () => {
    const err = thrown(() => newStore().range({ key: new Uint8Array(0) }));
    expect(err.code).toBe(ErrorCode.EMPTY_KEY);
    expect(err.message).toBe('etcdserver: key is not provided');
  });
});

describe('limit, count and projections', () => {
  let store: MvccStore;
  beforeEach(() => {
    store = filled();
  });

  it('limit cuts the kvs and sets more; count is every key in the range', () => {
    const resp = store.range({ key: b('a'), rangeEnd: b('z'), limit: 2 });
    expect(keysOf(resp)).toEqual(['a', 'c/1']);
    expect(resp.more).toBe(true);
    expect(resp.count).toBe(4);
  });

  it('a limit equal to the number of keys is not "more"; 0 and negative mean no limit', () => {
    expect(store.range({ key: b('a'), rangeEnd: b('z'), limit: 4 }).more).toBe(false);
    expect(store.range({ key: b('a'), rangeEnd: b('z'), limit: 0 }).kvs).toHaveLength(4);
    expect(store.range({ key: b('a'), rangeEnd: b('z'), limit: -1 }).kvs).toHaveLength(4);
  });

  it('countOnly returns the count and no kvs', () => {
    const resp = store.range({ key: b('a'), rangeEnd: b('z'), countOnly: true });
    expect(resp.kvs).toEqual([]);
    expect(resp.count).toBe(4);
    expect(resp.more).toBe(false);
  });

  it('keysOnly strips values and keeps the rest', () => {
    const resp = store.range({ key: b('c/'), rangeEnd: b('c0'), keysOnly: true });
    expect(resp.kvs.map((kv) => kv.value.length)).toEqual([0, 0]);
    expect(resp.kvs[0]).toMatchObject({ createRevision: 4, modRevision: 4, version: 1 });
    expect(str(get(store, 'c/1')!.value)).toBe('333');
  });

  it('min/max mod and create revision filter kvs, but count is taken before them (as etcd)', () => {
    const all = { key: b('a'), rangeEnd: b('z') };
    expect(keysOf(store.range({ ...all, minModRevision: 5 }))).toEqual(['a', 'c/2', 'd']);
    expect(keysOf(store.range({ ...all, maxModRevision: 5 }))).toEqual(['c/1', 'c/2']);
    expect(keysOf(store.range({ ...all, minCreateRevision: 4 }))).toEqual(['c/1', 'c/2', 'd']);
    expect(keysOf(store.range({ ...all, maxCreateRevision: 4 }))).toEqual(['a', 'c/1']);
    const filtered = store.range({ ...all, maxCreateRevision: 2 });
    expect(keysOf(filtered)).toEqual(['a']);
    expect(filtered.count).toBe(4);
  });

  it('limit applies after filters', () => {
    const resp = store.range({ key: b('a'), rangeEnd: b('z'), minCreateRevision: 4, limit: 2 });
    expect(keysOf(resp)).toEqual(['c/1', 'c/2']);
    expect(resp.more).toBe(true);
  });
});

describe('sorting', () => {
  let store: MvccStore;
  const all = { key: b('a'), rangeEnd: b('z') };
  beforeEach(() => {
    store = filled();
  });

  it('by key, both orders', () => {
    expect(keysOf(store.range({ ...all, sortOrder: SortOrder.Ascend }))).toEqual(['a', 'c/1', 'c/2', 'd']);
    expect(keysOf(store.range({ ...all, sortOrder: SortOrder.Descend }))).toEqual(['d', 'c/2', 'c/1', 'a']);
  });

  it('by create revision (the lock recipe: first key by create revision)', () => {
    expect(
      keysOf(store.range({ ...all, sortTarget: SortTarget.Create, sortOrder: SortOrder.Descend, limit: 1 })),
    ).toEqual(['d']);
    expect(
      keysOf(store.range({ ...all, sortTarget: SortTarget.Create, sortOrder: SortOrder.Ascend, limit: 1 })),
    ).toEqual(['a']);
  });

  it('by mod revision and by value', () => {
    expect(keysOf(store.range({ ...all, sortTarget: SortTarget.Mod, sortOrder: SortOrder.Ascend }))).toEqual([
      'c/1',
      'c/2',
      'd',
      'a',
    ]);
    expect(
      keysOf(store.range({ ...all, sortTarget: SortTarget.Value, sortOrder: SortOrder.Descend })),
    ).toEqual(['a', 'd', 'c/2', 'c/1']);
  });

  it('a target other than key with order NONE sorts ascending (etcd rule)', () => {
    expect(keysOf(store.range({ ...all, sortTarget: SortTarget.Mod }))).toEqual(['c/1', 'c/2', 'd', 'a']);
  });

  it('ties keep ascending key order in both directions (stable sort)', () => {
    // Versions: a=2, every other key 1.
    expect(
      keysOf(store.range({ ...all, sortTarget: SortTarget.Version, sortOrder: SortOrder.Ascend })),
    ).toEqual(['c/1', 'c/2', 'd', 'a']);
    expect(
      keysOf(store.range({ ...all, sortTarget: SortTarget.Version, sortOrder: SortOrder.Descend })),
    ).toEqual(['a', 'c/1', 'c/2', 'd']);
  });

  it('sorts before the limit cuts, and `more` reflects the cut', () => {
    const resp = store.range({ ...all, sortOrder: SortOrder.Descend, limit: 3 });
    expect(keysOf(resp)).toEqual(['d', 'c/2', 'c/1']);
    expect(resp.more).toBe(true);
  });

  it('rejects unknown sort options', () => {
    const err = thrown(() => store.range({ ...all, sortOrder: 7 as SortOrder }));
    expect(err.code).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});
