// Proves that a store loaded with its values in slabs (src/mvcc/slab-record.ts: from a raft snapshot, or from a folder written before values were kept apart) is the store it was saved from and stays so through further writes and compactions; that a put copies its value into the store's own slabs, so the bytes it came in may change; that empty and large values stay plain strings; that values crossing a slab's end land whole in the next; that a loaded record takes only an equal key; that a slab compaction has mostly emptied hands its survivors strings of their own, and not before; and that the slab a store's writes are filling takes no more values once that happened to it.
import { describe, expect, it } from 'vitest';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import {
  decodeRevisionValue,
  MvccStore,
  type RevisionRecord,
  revisionsOf,
  SlabWriter,
} from '../../src/mvcc/index.js';
import { SLAB_BYTES, SLAB_VALUE_BYTES_MAX, SlabRecord } from '../../src/mvcc/slab-record.js';
import { b, formatOneRevisionValue, newStore, ok, str } from './support.js';
import { readBattery, workload } from './workload.js';

/**
 * A store as a member builds it from the leader's raft snapshot (or, alternately, from revision
 * values of format 1, which held their values: written by data format 3), its values read
 * into slabs.
 */
function reloaded(store: MvccStore, from: 'snapshot' | 'format 1' = 'snapshot'): MvccStore {
  if (from === 'snapshot')
    return MvccStore.restore(collectBytes(store.snapshot(1)), { leaseExists: () => true }).store;
  const slabs = new SlabWriter();
  const records: RevisionRecord[] = [];
  for (const { main, records: rs } of revisionsOf([...store.records()]))
    records.push(...decodeRevisionValue(main, formatOneRevisionValue(rs), slabs));
  return MvccStore.load(
    {
      meta: { currentRevision: store.currentRevision, compactedRevision: store.compactedRevision },
      records,
    },
    { leaseExists: () => true },
  );
}

const loadedShare = (store: MvccStore): number => {
  const all = [...store.records()];
  return all.filter((r) => r instanceof SlabRecord).length / all.length;
};

/** A store of n keys k00000.. holding values of `bytes` bytes, written in Txns of 100 puts. */
function bulk(n: number, bytes: number): MvccStore {
  const store = newStore();
  for (let first = 0; first < n; first += 100) {
    const success = [];
    for (let i = first; i < Math.min(n, first + 100); i++)
      success.push({
        requestPut: { key: b(`k${String(i).padStart(5, '0')}`), value: b(`${i}:`.padEnd(bytes, 'x')) },
      });
    ok(store, { type: 'txn', request: { success } });
  }
  return store;
}

describe('records with their values in slabs', () => {
  for (const [seed, from] of [
    [11, 'snapshot'],
    [12, 'format 1'],
    [13, 'snapshot'],
    [14, 'format 1'],
  ] as const) {
    it(`a store reloaded from a ${from} is the saved one, through later writes and compactions (seed ${seed})`, () => {
      const source = newStore();
      for (const c of workload(seed, 400, () => source)) source.apply(c);
      const loaded = reloaded(source, from);
      expect(loadedShare(loaded)).toBeGreaterThan(0.5);
      expect(readBattery(loaded)).toEqual(readBattery(source));
      expect(loaded.hashKV()).toEqual(source.hashKV());
      expect(collectBytes(loaded.snapshot(7))).toEqual(collectBytes(source.snapshot(7)));
      let step = 0;
      for (const c of workload(seed + 50, 300, () => source)) {
        expect(loaded.apply(c)).toEqual(source.apply(c));
        if (++step % 25 === 0) {
          expect(readBattery(loaded)).toEqual(readBattery(source));
          expect(loaded.hashKV()).toEqual(source.hashKV());
        }
      }
      expect(collectBytes(loaded.snapshot(8))).toEqual(collectBytes(source.snapshot(8)));
    });
  }

  it('empty and large values stay strings; values up to the limit go into slabs', () => {
    const store = newStore();
    ok(store, { type: 'put', request: { key: b('empty'), value: new Uint8Array(0) } });
    ok(store, {
      type: 'put',
      request: { key: b('limit'), value: new Uint8Array(SLAB_VALUE_BYTES_MAX).fill(7) },
    });
    ok(store, {
      type: 'put',
      request: { key: b('large'), value: new Uint8Array(SLAB_VALUE_BYTES_MAX + 1).fill(8) },
    });
    const loaded = reloaded(store);
    // The same rule for the records the writes made and for those loaded from them.
    for (const s of [store, loaded]) {
      const byKey = new Map([...s.records()].map((r) => [r.key, r]));
      expect(byKey.get('empty')).not.toBeInstanceOf(SlabRecord);
      expect(byKey.get('limit')).toBeInstanceOf(SlabRecord);
      expect(byKey.get('large')).not.toBeInstanceOf(SlabRecord);
    }
    for (const key of ['empty', 'limit', 'large'])
      expect(loaded.range({ key: b(key) }).kvs).toEqual(store.range({ key: b(key) }).kvs);
  });

  it('values that cross a slab end land whole in the next slab', () => {
    const valueBytes = 1000;
    const n = Math.ceil((3 * SLAB_BYTES) / valueBytes);
    const store = bulk(n, valueBytes);
    const loaded = reloaded(store);
    expect(loadedShare(loaded)).toBe(1);
    const got = loaded.range({ key: b('k'), rangeEnd: b('l') }).kvs;
    expect(got.length).toBe(n);
    for (let i = 0; i < n; i++) expect(str(got[i]!.value)).toBe(`${i}:`.padEnd(valueBytes, 'x'));
  });

  it('a slab mostly emptied by compaction hands its survivors strings of their own, and not before', () => {
    const valueBytes = 200;
    const n = Math.floor(SLAB_BYTES / valueBytes); // one slab's worth
    const loaded = reloaded(bulk(n, valueBytes));
    const loadedAt = loaded.currentRevision;
    const rewrite = (from: number, to: number): void => {
      for (let i = from; i < to; i++)
        ok(loaded, { type: 'put', request: { key: b(`k${String(i).padStart(5, '0')}`), value: b('new') } });
      ok(loaded, { type: 'compact', request: { revision: loaded.currentRevision } });
    };
    const original = () =>
      [...loaded.records()].filter((r): r is SlabRecord => r instanceof SlabRecord && r.main <= loadedAt);
    // 70% of the slab's values replaced: 30% still live, above a quarter: still in the slab.
    rewrite(0, Math.floor(n * 0.7));
    expect(original().length).toBe(n - Math.floor(n * 0.7));
    expect(original().every((r) => r.inSlab)).toBe(true);
    // 80% replaced: below a quarter live: every survivor has its own string, with its value.
    rewrite(Math.floor(n * 0.7), Math.floor(n * 0.8));
    const left = original();
    expect(left.length).toBe(n - Math.floor(n * 0.8));
    expect(left.every((r) => !r.inSlab)).toBe(true);
    for (const r of left) expect(r.value).toBe(`${Number(r.key.slice(1))}:`.padEnd(valueBytes, 'x'));
    const all = loaded.range({ key: b('k'), rangeEnd: b('l') }).kvs;
    expect(all.length).toBe(n);
    for (let i = 0; i < n; i++)
      expect(str(all[i]!.value)).toBe(i < Math.floor(n * 0.8) ? 'new' : `${i}:`.padEnd(valueBytes, 'x'));
  });

  it('a put copies its value into the slabs: the bytes it came in may change afterwards', () => {
    const store = newStore();
    const value = b('first value'.padEnd(300, '.'));
    ok(store, { type: 'put', request: { key: b('k'), value } });
    value.fill(0);
    ok(store, { type: 'put', request: { key: b('k'), value: b('second'), ignoreLease: true } });
    ok(store, { type: 'put', request: { key: b('k'), ignoreValue: true } });
    const records = [...store.records()];
    expect(records.length).toBe(3);
    expect(records.every((r) => r instanceof SlabRecord && r.inSlab)).toBe(true);
    expect(records.map((r) => r.value)).toEqual(['first value'.padEnd(300, '.'), 'second', 'second']);
    expect(str(store.range({ key: b('k'), revision: 2 }).kvs[0]!.value)).toBe('first value'.padEnd(300, '.'));
    expect(str(store.range({ key: b('k') }).kvs[0]!.value)).toBe('second');
  });

  it('the slab a store is filling, once compaction leaves it sparse, takes no more values', () => {
    const store = newStore();
    const key = (i: number) => b(`k${String(i).padStart(3, '0')}`);
    const value = (tag: string) => b(tag.padEnd(200, '.'));
    const latest = (k: Uint8Array) => [...store.records()].filter((r) => r.key === str(k)).pop();
    const inSlab = (keys: Uint8Array[]) =>
      keys.map((k) => {
        const r = latest(k);
        return r instanceof SlabRecord && r.inSlab;
      });
    // 100 keys written five times: 500 values in the store's first slab, 100 of them live.
    for (let round = 0; round < 5; round++)
      for (let i = 0; i < 100; i++)
        ok(store, { type: 'put', request: { key: key(i), value: value(`r${round}`) } });
    ok(store, { type: 'compact', request: { revision: store.currentRevision } });
    // A fifth live: the survivors were handed strings of their own.
    expect(inSlab([key(0), key(99)])).toEqual([false, false]);
    // Ten new keys, then one of them rewritten and its old version compacted away.
    const fresh = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => key(100 + i));
    for (const k of fresh) ok(store, { type: 'put', request: { key: k, value: value('new') } });
    ok(store, { type: 'put', request: { key: fresh[0]!, value: value('newer') } });
    ok(store, { type: 'compact', request: { revision: store.currentRevision } });
    // They went into a new slab, all but one value of it live: they keep their values there
    // (in the old slab, among its dead bytes, the release would have made them strings).
    expect(inSlab(fresh)).toEqual(fresh.map(() => true));
    expect(str(store.range({ key: fresh[0]! }).kvs[0]!.value)).toBe('newer'.padEnd(200, '.'));
    expect(str(store.range({ key: fresh[9]! }).kvs[0]!.value)).toBe('new'.padEnd(200, '.'));
    expect(str(store.range({ key: key(99) }).kvs[0]!.value)).toBe('r4'.padEnd(200, '.'));
  });

  it('a key loaded in several records reads back in each, and a loaded record takes only an equal key string', () => {
    const store = newStore();
    for (let i = 0; i < 3; i++) ok(store, { type: 'put', request: { key: b('same'), value: b(`v${i}`) } });
    const loaded = reloaded(store);
    const keys = [...loaded.records()].map((r) => r.key);
    expect(keys).toEqual(['same', 'same', 'same']);
    const record = new SlabWriter().put(1, 0, 'a', b('x'), 0, 1, 1, 1, 0) as SlabRecord;
    expect(() => record.shareKey('b')).toThrow();
  });
});
