// Proves compaction keeps etcd's boundary (Compact(r) leaves r readable, refuses r at or below the last compaction and above the current revision), that reads at or above r are unchanged by it, and that it frees history: by compacting stores with known histories and comparing reads and record counts before and after.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { EventType, MvccStore } from '../../src/mvcc/index.js';
import { b, del, fails, get, newStore, ok, put, rangeKeys, str, thrown } from './support.js';

/** a: 2,3,4 ; b: 5 then deleted at 6 ; c: 7 ; a deleted at 8 and re-created at 9. */
function history(): MvccStore {
  const store = newStore();
  put(store, 'a', 'a2');
  put(store, 'a', 'a3');
  put(store, 'a', 'a4');
  put(store, 'b', 'b5');
  del(store, 'b');
  put(store, 'c', 'c7');
  del(store, 'a');
  put(store, 'a', 'a9');
  return store;
}

/** One Txn that puts every key to its value, in the order given: one revision, sub 0, 1, ... */
function putAllInOneTxn(store: MvccStore, values: Record<string, string>): void {
  const success = Object.entries(values).map(([k, v]) => ({ requestPut: { key: b(k), value: b(v) } }));
  ok(store, { type: 'txn', request: { success } });
}

function snapshotOfReads(store: MvccStore, revisions: number[]): unknown {
  return revisions.map(
    (revision) => store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), revision }).kvs,
  );
}

describe('the boundary', () => {
  it("after Compact(r), r stays readable and r-1 answers COMPACTED with etcd's message", () => {
    const store = history();
    ok(store, { type: 'compact', request: { revision: 5 } });
    expect(str(get(store, 'a', 5)!.value)).toBe('a4');
    expect(str(get(store, 'b', 5)!.value)).toBe('b5');
    const err = thrown(() => store.range({ key: b('a'), revision: 4 }));
    expect([err.code, err.message]).toEqual([
      ErrorCode.COMPACTED,
      'etcdserver: mvcc: required revision has been compacted',
    ]);
    expect(store.compactedRevision).toBe(5);
  });

  it('a second Compact at or below the compaction point answers COMPACTED; above the current revision FUTURE_REVISION', () => {
    const store = history();
    ok(store, { type: 'compact', request: { revision: 5 } });
    expect(fails(store, { type: 'compact', request: { revision: 5 } }).code).toBe(ErrorCode.COMPACTED);
    expect(fails(store, { type: 'compact', request: { revision: 3 } }).code).toBe(ErrorCode.COMPACTED);
    const future = fails(store, { type: 'compact', request: { revision: 10 } });
    expect([future.code, future.message]).toEqual([
      ErrorCode.FUTURE_REVISION,
      'etcdserver: mvcc: required revision is a future revision',
    ]);
    expect(fails(newStore(), { type: 'compact', request: { revision: 0 } }).code).toBe(ErrorCode.COMPACTED);
  });

  it('compacting does not change the revision and answers the current one', () => {
    const store = history();
    const resp = ok(store, { type: 'compact', request: { revision: 4, physical: true } });
    expect(resp.header.revision).toBe(9);
    expect(store.currentRevision).toBe(9);
  });

  it('the current revision itself may be compacted', () => {
    const store = history();
    ok(store, { type: 'compact', request: { revision: 9 } });
    expect(rangeKeys(store, 'a', 'z')).toEqual(['a', 'c']);
    expect(put(store, 'd', 'd10')).toBe(10);
  });
});

describe('reads at or above the compaction revision are unchanged', () => {
  it('for every compaction point of a history', () => {
    for (let r = 1; r <= 9; r++) {
      const reference = history();
      const compacted = history();
      if (r > 0) ok(compacted, { type: 'compact', request: { revision: r } });
      const readable = Array.from({ length: 10 - r }, (_, i) => r + i);
      expect(snapshotOfReads(compacted, readable), `compact at ${r}`).toEqual(
        snapshotOfReads(reference, readable),
      );
    }
  });

  it('and stay so over successive compactions', () => {
    const reference = history();
    const compacted = history();
    for (const r of [2, 3, 6, 8, 9]) {
      ok(compacted, { type: 'compact', request: { revision: r } });
      const readable = Array.from({ length: 10 - r }, (_, i) => r + i);
      expect(snapshotOfReads(compacted, readable)).toEqual(snapshotOfReads(reference, readable));
    }
  });

  it('a key keeps its create revision and version across compaction of its earlier versions', () => {
    const store = history();
    ok(store, { type: 'compact', request: { revision: 9 } });
    put(store, 'a', 'a10');
    expect(get(store, 'a')).toMatchObject({ createRevision: 9, version: 2 });
    put(store, 'c', 'c11');
    expect(get(store, 'c')).toMatchObject({ createRevision: 7, version: 2 });
  });
});

describe('memory', () => {
  it('frees superseded versions and whole deleted keys', () => {
    const store = history();
    expect(store.recordCount).toBe(8);
    ok(store, { type: 'compact', request: { revision: 4 } });
    // Gone: a@2, a@3. Kept: a@4, b@5, b@6 (tombstone), c@7, a@8 (tombstone), a@9.
    expect(store.recordCount).toBe(6);
    ok(store, { type: 'compact', request: { revision: 9 } });
    // Kept: c@7 (latest of c), a@9.
    expect(store.recordCount).toBe(2);
    expect(store.indexedKeyCount).toBe(2);
  });

  it('reports every revision it changed, with the records each still holds and the stored values it dropped, so storage can rewrite or delete them', () => {
    const store = history();
    const result = store.apply({ type: 'compact', request: { revision: 6 } });
    expect(result.ok).toBe(true);
    expect(result.changes.revisions).toEqual([
      { main: 2, records: [], droppedValues: [0] },
      { main: 3, records: [], droppedValues: [0] },
      { main: 5, records: [], droppedValues: [0] },
    ]);
    expect(result.changes.meta).toEqual({ currentRevision: 9, compactedRevision: 6 });
    expect(result.events).toEqual([]);
  });

  it('reports a revision it emptied only in part with the records it keeps', () => {
    const store = newStore();
    putAllInOneTxn(store, { x: 'x2', y: 'y2', z: 'z2' });
    put(store, 'y', 'y3');
    const result = store.apply({ type: 'compact', request: { revision: 3 } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const kept = result.changes.revisions.map((r) => ({ main: r.main, subs: r.records.map((x) => x.sub) }));
    // y@(2,1) is gone; x@(2,0) and z@(2,2) stay in revision 2, whose value storage rewrites.
    expect(kept).toEqual([{ main: 2, subs: [0, 2] }]);
    expect(result.changes.revisions[0]!.droppedValues).toEqual([1]);
    expect(
      result.changes.revisions[0]!.records.map((x) => str(Uint8Array.from(Buffer.from(x.key, 'latin1')))),
    ).toEqual(['x', 'z']);
  });

  it('takes a revision down to its one record left, and drops it later, while snapshots taken before each keep what they saw', () => {
    const store = newStore();
    putAllInOneTxn(store, { x: 'x2', y: 'y2' });
    put(store, 'x', 'x3');
    // Read only after the compaction that takes revision 2 down to one record: it must not see it.
    const before = store.snapshot(1);
    ok(store, { type: 'compact', request: { revision: 3 } });
    expect([...store.records(2, 2)].map((r) => `${r.key}@${r.main}.${r.sub}`)).toEqual(['y@2.1']);
    // Read only after the writes and the compaction below: it must not see them.
    const taken = store.snapshot(1);
    put(store, 'y', 'y4');
    const result = store.apply({ type: 'compact', request: { revision: 4 } });
    expect(result.ok && result.changes.revisions).toEqual([{ main: 2, records: [], droppedValues: [1] }]);
    expect([...store.records(0, 4)].map((r) => `${r.key}@${r.main}`)).toEqual(['x@3', 'y@4']);
    // The snapshot taken between the two compactions still holds revision 2's last record.
    const restored = MvccStore.restore(collectBytes(taken)).store;
    expect([...restored.records()].map((r) => `${r.key}@${r.main}.${r.sub}`)).toEqual(['y@2.1', 'x@3.0']);
    expect(str(get(restored, 'y')!.value)).toBe('y2');
    const whole = MvccStore.restore(collectBytes(before)).store;
    expect([...whole.records()].map((r) => `${r.key}@${r.main}.${r.sub}`)).toEqual([
      'x@2.0',
      'y@2.1',
      'x@3.0',
    ]);
  });

  it('keeps a tombstone at exactly the compaction revision until the next compaction (etcd 3.6), so its DELETE event can be replayed', () => {
    const store = history();
    ok(store, { type: 'compact', request: { revision: 6 } });
    const atSix = [...store.records(6, 6)];
    expect(atSix.map((r) => [r.type, r.key])).toEqual([[EventType.Delete, 'b']]);
    expect(get(store, 'b', 6)).toBeUndefined();
    ok(store, { type: 'compact', request: { revision: 7 } });
    // The tombstone went; a@4 stays because a was alive at 7.
    expect([...store.records(0, 7)].map((r) => `${r.key}@${r.main}`)).toEqual(['a@4', 'c@7']);
    expect(store.indexedKeyCount).toBe(2);
  });

  it('a long-lived store with compaction holds only what is live', () => {
    const store = newStore();
    for (let i = 0; i < 2000; i++) {
      put(store, `k${i % 10}`, `v${i}`);
      if (i % 7 === 0) del(store, `k${(i + 3) % 10}`);
      if (i % 100 === 99) ok(store, { type: 'compact', request: { revision: store.currentRevision } });
    }
    put(store, 'last', 'v');
    ok(store, { type: 'compact', request: { revision: store.currentRevision } });
    const live = store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), countOnly: true }).count;
    // One record per live key: every older version and every deleted key is gone.
    expect(store.recordCount).toBe(live);
    expect(store.indexedKeyCount).toBe(live);
  });
});
