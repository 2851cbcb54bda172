// Proves the persistence records are sufficient, values left in storage included (and that a store loaded in steps, yielding between them, is the store loaded at once): replaying every apply's changes into a fake LevelDB (a byte-ordered map of revision keys and revision values plus the meta value) and loading from it rebuilds a store identical to the live one, at every point of a workload with compactions; that a store loaded all at once, its keys in any order, equals the one written step by step and takes later writes; that records out of revision order are refused; also that MvccChangeBuffer batches are equivalent to applying changes one by one.
import { describe, expect, it } from 'vitest';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { writeRecordBody } from '../../src/mvcc/codec/record-codec.js';
import {
  ByteWriter,
  decodeMeta,
  decodeRecord,
  decodeRecordKey,
  decodeRevisionRows,
  decodeRevisionValue,
  EventType,
  encodeMeta,
  encodeRecordKey,
  encodeRecordValue,
  encodeRevisionValue,
  type LeaseRecord,
  LoadedRows,
  MvccChangeBuffer,
  type MvccChanges,
  MvccStore,
  type RecordRef,
  type RevisionRecord,
  SortOrder,
  SortTarget,
  type StoredValues,
  storedValueKeys,
  valuesToStore,
} from '../../src/mvcc/index.js';
import { valueLengthOf } from '../../src/mvcc/slab-record.js';
import { b, del, newStore, ok, plain, put, str } from './support.js';
import { readBattery, workload } from './workload.js';

/**
 * What storage/ would keep in LevelDB for the store: hex(main, 8 bytes big-endian) -> revision
 * value, hex(record key) -> a value kept apart (read when asked), and the meta value.
 */
class FakeLevel {
  revisions = new Map<string, Uint8Array>();
  values = new Map<string, Uint8Array>();
  leases = new Map<number, LeaseRecord>();
  meta: Uint8Array | undefined;
  /** Reads of values kept apart, and pinned views not yet released. */
  reads = 0;
  pinned = 0;

  write(changes: MvccChanges): void {
    for (const r of changes.revisions) {
      if (r.records.length > 0) this.revisions.set(mainKey(r.main), encodeRevisionValue(r.records));
      else this.revisions.delete(mainKey(r.main));
      for (const [k, v] of valuesToStore(r.records, false)) this.values.set(hex(k), Uint8Array.from(v));
      for (const k of storedValueKeys(r.main, r.droppedValues ?? [])) this.values.delete(hex(k));
    }
    for (const lease of changes.leasesGranted ?? []) this.leases.set(lease.id, lease);
    for (const id of changes.leasesRevoked ?? []) this.leases.delete(id);
    this.meta = encodeMeta(changes.meta);
  }

  /** An independent copy (another member's folder). */
  copy(): FakeLevel {
    const c = new FakeLevel();
    c.revisions = new Map(this.revisions);
    c.values = new Map(this.values);
    c.leases = new Map(this.leases);
    c.meta = this.meta;
    return c;
  }

  private readFrom(values: Map<string, Uint8Array>, main: number, sub: number): Uint8Array {
    this.reads++;
    const v = values.get(hex(encodeRecordKey({ main, sub })));
    if (v === undefined) throw new Error(`no stored value for (${main}, ${sub})`);
    return Uint8Array.from(v);
  }

  storedValues(): StoredValues {
    return {
      read: (main, sub) => this.readFrom(this.values, main, sub),
      pin: () => {
        const view = new Map(this.values);
        this.pinned++;
        let released = false;
        return {
          read: (main, sub) => {
            if (released) throw new Error('a released view was read');
            return this.readFrom(view, main, sub);
          },
          release: () => {
            if (!released) this.pinned--;
            released = true;
          },
        };
      },
    };
  }

  /** The rows of the last load as rows (see load). */
  rows: LoadedRows | undefined;

  /**
   * The store this storage holds (taking, as newStore does, every lease id as granted): its
   * records loaded as rows, as a member loads them (loaded-rows.ts), or as records.
   */
  load(form: 'rows' | 'records' = 'rows'): MvccStore {
    const keys = [...this.revisions.keys()].sort(); // hex of big-endian keys sorts like the bytes
    const values = this.storedValues();
    const meta =
      this.meta === undefined ? { currentRevision: 1, compactedRevision: 0 } : decodeMeta(this.meta);
    const leases = this.leases.values();
    if (form === 'records') {
      const records: RevisionRecord[] = keys.flatMap((k) =>
        decodeRevisionValue(Number.parseInt(k, 16), this.revisions.get(k)!, undefined, values),
      );
      return MvccStore.load({ meta, records, values, leases }, { leaseExists: () => true });
    }
    const rows = new LoadedRows(values);
    const records: RecordRef[] = [];
    for (const k of keys) decodeRevisionRows(Number.parseInt(k, 16), this.revisions.get(k)!, rows, records);
    this.rows = rows;
    return MvccStore.load({ meta, records, rows, values, leases }, { leaseExists: () => true });
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** The record keys (hex) of the values a store's records keep apart: every PUT with a value. */
function valueKeysOf(store: MvccStore): string[] {
  return [...store.records()]
    .filter((r) => r.type === EventType.Put && valueLengthOf(r) > 0)
    .map((r) => hex(encodeRecordKey(r)))
    .sort();
}

const mainKey = (main: number) => main.toString(16).padStart(16, '0');

describe('persistence records', () => {
  it('a record key names its revision and sorts in revision order', () => {
    const revs = [
      { main: 1, sub: 0 },
      { main: 1, sub: 1 },
      { main: 2, sub: 0 },
      { main: 256, sub: 0 },
      { main: 2 ** 40, sub: 3 },
    ];
    const keys = revs.map(encodeRecordKey);
    expect(keys.map(decodeRecordKey)).toEqual(revs);
    expect([...keys].sort(Buffer.compare)).toEqual(keys);
  });

  it('record values round-trip for puts and tombstones', () => {
    const store = newStore();
    put(store, 'k', 'v', 3);
    store.apply({ type: 'deleteRange', request: { key: b('k') } });
    const records = [...store.records()];
    expect(records.map((r) => r.type)).toEqual([EventType.Put, EventType.Delete]);
    for (const r of records) expect(decodeRecord(encodeRecordKey(r), encodeRecordValue(r))).toEqual(r);
  });

  it('a revision value holds its records, and one that is damaged or out of order is refused', () => {
    const store = newStore();
    put(store, 'o', '0');
    store.apply({ type: 'compact', request: { revision: 2 } });
    store.apply({
      type: 'txn',
      request: {
        success: [
          { requestPut: { key: b('p'), value: b('1') } },
          { requestDeleteRange: { key: b('o') } },
          { requestPut: { key: b('q'), value: new Uint8Array(300).fill(7) } },
        ],
      },
    });
    const records = [...store.records()].filter((r) => r.main === 3);
    expect(records.map((r) => [r.main, r.sub, r.type])).toEqual([
      [3, 0, EventType.Put],
      [3, 1, EventType.Delete],
      [3, 2, EventType.Put],
    ]);
    const value = encodeRevisionValue(records);
    // The values are not in it: the PUTs' values are read from storage when asked, and only then.
    expect(value.byteLength).toBeLessThan(300);
    const disk = new FakeLevel();
    for (const [k, v] of valuesToStore(records, true)) disk.values.set(hex(k), v);
    expect(disk.values.size).toBe(2);
    const decoded = decodeRevisionValue(3, value, undefined, disk.storedValues());
    expect(disk.reads).toBe(0);
    expect(decoded.map(plain)).toEqual(records.map(plain));
    expect(disk.reads).toBe(2);
    expect(() => decodeRevisionValue(3, value)).toThrow(/none was given to read them from/);
    expect(() => decodeRevisionRows(3, value, new LoadedRows(), [])).toThrow(
      /none was given to read them from/,
    );
    disk.values.clear();
    expect(() => decoded[0]!.value).toThrow(/no stored value for \(3, 0\)/);
    const values = disk.storedValues();
    expect(() => decodeRevisionValue(3, value.subarray(0, value.length - 1), undefined, values)).toThrow(
      /truncated/,
    );
    expect(() => decodeRevisionValue(3, Uint8Array.from([...value, 0]), undefined, values)).toThrow(
      /trailing bytes/,
    );
    expect(() => decodeRevisionValue(3, Uint8Array.of(1, 0))).toThrow(/without records/);
    const backwards = new ByteWriter();
    backwards.u8(1);
    backwards.uvarint(2);
    for (const r of [records[2]!, records[0]!]) {
      backwards.uvarint(r.sub);
      writeRecordBody(backwards, r);
    }
    expect(() => decodeRevisionValue(3, backwards.finish())).toThrow(/sub revision 0 after 2/);
    expect(() => encodeRevisionValue([records[1]!, records[0]!])).toThrow(/sub order/);
    expect(() => encodeRevisionValue([])).toThrow(/at least one/);
  });

  it('loading from the persisted changes rebuilds the live store at every step', () => {
    const live = newStore();
    const disk = new FakeLevel();
    let i = 0;
    for (const command of workload(21, 300, () => live)) {
      const result = live.apply(command);
      disk.write(result.changes);
      if (i++ % 25 === 24) {
        expect(readBattery(disk.load())).toEqual(readBattery(live));
        expect(readBattery(disk.load('records'))).toEqual(readBattery(live));
      }
    }
    expect(live.compactedRevision).toBeGreaterThan(0);
    const loaded = disk.load();
    expect(disk.rows!.size).toBe(live.recordCount);
    expect(readBattery(loaded)).toEqual(readBattery(live));
    expect(collectBytes(loaded.snapshot(5))).toEqual(collectBytes(live.snapshot(5)));
    // Storage holds the value of every PUT the store holds, and nothing else.
    expect([...disk.values.keys()].sort()).toEqual(valueKeysOf(live));
  });

  it('keys loaded as rows take new writes, deletes, leases and compactions as the live store does', () => {
    const live = newStore();
    const liveDisk = new FakeLevel();
    const apply = (store: MvccStore, disk: FakeLevel, command: Parameters<MvccStore['apply']>[0]) =>
      disk.write(store.apply(command).changes);
    // Ten keys of one record each, and one Txn of two puts (a revision of several rows).
    for (let i = 0; i < 10; i++)
      apply(live, liveDisk, {
        type: 'put',
        request: { key: b(`k${i}`), value: b(`v${i}`), lease: i === 9 ? 7 : 0 },
      });
    apply(live, liveDisk, {
      type: 'txn',
      request: { success: [0, 1].map((i) => ({ requestPut: { key: b(`t${i}`), value: b(`t${i}`) } })) },
    });
    const disk = liveDisk.copy();
    const loaded = disk.load();
    expect(disk.rows!.size).toBe(12);
    const frozen = loaded.snapshot(3);
    const expected = collectBytes(live.snapshot(3));
    const both = (command: Parameters<MvccStore['apply']>[0]) => {
      apply(live, liveDisk, command);
      apply(loaded, disk, command);
    };
    // A row's key written again, deleted, written and deleted: its history holds the row, its
    // index a record made of it; then compacted so that the rows are dropped.
    for (let i = 0; i < 5; i++) both({ type: 'put', request: { key: b(`k${i}`), value: b(`w${i}`) } });
    both({ type: 'deleteRange', request: { key: b('k5') } });
    both({ type: 'deleteRange', request: { key: b('k9') } });
    both({ type: 'put', request: { key: b('t0'), value: b('u0') } });
    expect(readBattery(loaded)).toEqual(readBattery(live));
    both({ type: 'compact', request: { revision: live.currentRevision } });
    expect(readBattery(loaded)).toEqual(readBattery(live));
    expect(loaded.hashKV()).toEqual(live.hashKV());
    expect(collectBytes(loaded.snapshot(4))).toEqual(collectBytes(live.snapshot(4)));
    expect(collectBytes(frozen)).toEqual(expected);
    expect([...disk.values.keys()].sort()).toEqual(valueKeysOf(loaded));
    expect(readBattery(disk.load())).toEqual(readBattery(live));
  });

  it('a store loaded with its values in storage writes and compacts as the live one, and its storage keeps exactly its values', () => {
    const live = newStore();
    const liveDisk = new FakeLevel();
    const commands = workload(24, 400, () => live);
    for (let i = 0; i < 200; i++) liveDisk.write(live.apply(commands.next().value!).changes);
    // Another member's copy of the folder, loaded: its records' values stay in its storage.
    const disk = liveDisk.copy();
    const loaded = disk.load();
    expect(disk.reads).toBe(0);
    let frozen: { bytes: ReturnType<MvccStore['snapshot']>; expected: Uint8Array } | undefined;
    for (const command of commands) {
      // A snapshot taken before a compaction still reads the values that compaction deletes.
      if (command.type === 'compact' && frozen === undefined) {
        frozen = { bytes: loaded.snapshot(9), expected: collectBytes(live.snapshot(9)) };
      }
      liveDisk.write(live.apply(command).changes);
      disk.write(loaded.apply(command).changes);
    }
    expect(frozen).toBeDefined();
    expect(collectBytes(frozen!.bytes)).toEqual(frozen!.expected);
    expect(readBattery(loaded)).toEqual(readBattery(live));
    expect(loaded.hashKV()).toEqual(live.hashKV());
    expect(disk.reads).toBeGreaterThan(0);
    expect([...disk.values.keys()].sort()).toEqual(valueKeysOf(loaded));
    expect([...liveDisk.values.keys()].sort()).toEqual(valueKeysOf(live));
    // Loaded once more, from what it wrote: the same store again.
    expect(readBattery(disk.load())).toEqual(readBattery(live));
  });

  it("a write's event keeps the previous value its key had in storage, after a compaction deletes it there", () => {
    const live = newStore();
    const liveDisk = new FakeLevel();
    liveDisk.write(live.apply({ type: 'put', request: { key: b('k'), value: b('stored') } }).changes);
    const disk = liveDisk.copy();
    const loaded = disk.load();
    const reads = disk.reads;
    const result = loaded.apply({ type: 'put', request: { key: b('k'), value: b('new') } });
    disk.write(result.changes);
    // Compacted: the stored value of the first put is gone from storage.
    disk.write(loaded.apply({ type: 'compact', request: { revision: loaded.currentRevision } }).changes);
    expect(disk.values.size).toBe(1);
    const event = result.events[0]!;
    expect(str(event.prevKv!.value)).toBe('stored');
    expect(str(event.kv.value)).toBe('new');
    expect(disk.reads).toBe(reads + 1);
  });

  it('a range sorted by value over values in storage reads each value once', () => {
    const live = newStore();
    const disk = new FakeLevel();
    for (let i = 0; i < 200; i++)
      disk.write(
        live.apply({ type: 'put', request: { key: b(`k${1000 + i}`), value: b(`v${(i * 7919) % 200}`) } })
          .changes,
      );
    const loaded = disk.load();
    const request = {
      key: b('k'),
      rangeEnd: b('l'),
      sortOrder: SortOrder.Descend,
      sortTarget: SortTarget.Value,
    };
    const before = disk.reads;
    const got = loaded.range(request).kvs.map((kv) => str(kv.value));
    expect(got).toEqual(live.range(request).kvs.map((kv) => str(kv.value)));
    expect(got.length).toBe(200);
    // Once to sort, once for the answer.
    expect(disk.reads - before).toBe(400);
  });

  it('changes merged by MvccChangeBuffer persist the same state as one batch per apply', () => {
    const live = newStore();
    const perApply = new FakeLevel();
    const batched = new FakeLevel();
    const buffer = new MvccChangeBuffer();
    expect(buffer.take()).toBeUndefined();
    let i = 0;
    for (const command of workload(22, 300, () => live)) {
      const { changes } = live.apply(command);
      perApply.write(changes);
      buffer.add(changes);
      if (i++ % 17 === 16) batched.write(buffer.take()!);
    }
    const rest = buffer.take();
    if (rest) batched.write(rest);
    expect(batched.revisions).toEqual(perApply.revisions);
    expect(batched.values).toEqual(perApply.values);
    expect(batched.meta).toEqual(perApply.meta);
  });

  it('a store loaded all at once matches the one written key by key, whatever order its keys came in', () => {
    const live = newStore();
    // Keys written descending, ascending and interleaved, several revisions of some, a Txn, a
    // delete, and a compaction at the delete's revision.
    for (let i = 40; i > 0; i--) put(live, `d${String(i).padStart(2, '0')}`, `v${i}`, i % 3);
    for (let i = 0; i < 40; i++) put(live, `a${String(i).padStart(2, '0')}`, `w${i}`);
    for (let i = 0; i < 40; i += 3) put(live, `d${String(i + 1).padStart(2, '0')}`, `again${i}`, 2);
    // A Txn's revision of two records, one of them overwritten later.
    ok(live, {
      type: 'txn',
      request: { success: ['t1', 't2'].map((k) => ({ requestPut: { key: b(k), value: b(k) } })) },
    });
    put(live, 't1', 'again');
    const gone = del(live, 'a05');
    ok(live, { type: 'compact', request: { revision: gone } });
    put(live, 'm', 'last');
    const { meta, records } = live.persisted();
    const loaded = MvccStore.load({ meta, records: [...records] });
    expect(readBattery(loaded)).toEqual(readBattery(live));
    expect(loaded.hashKV()).toEqual(live.hashKV());
    expect(collectBytes(loaded.snapshot(3))).toEqual(collectBytes(live.snapshot(3)));
    // The bulk-built trees take later writes in the middle and at both ends.
    for (const store of [live, loaded]) {
      put(store, 'a00', 'x');
      put(store, 'c', 'y');
      put(store, 'z', 'z');
      del(store, 'd10');
    }
    expect(readBattery(loaded)).toEqual(readBattery(live));
  });

  it('a store loaded in steps yields between them and is the store loaded at once', () => {
    // 120,000 records (Txns of 100 puts, a third of the keys written twice): more than two
    // steps' worth of each pass.
    const records: RevisionRecord[] = [];
    let main = 1;
    for (let first = 0; first < 120_000; first += 100) {
      main++;
      for (let sub = 0; sub < 100; sub++) {
        const i = (first + sub) % 80_000;
        const key = `k${String(i).padStart(6, '0')}`;
        const again = first + sub >= 80_000;
        records.push({
          main,
          sub,
          type: EventType.Put,
          key,
          value: `${key}:${main}`,
          createRevision: again ? main - 800 : main,
          version: again ? 2 : 1,
          lease: 0,
        });
      }
    }
    const meta = { currentRevision: main, compactedRevision: 0 };
    const steps = MvccStore.loadInSteps({ meta, records });
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    const stepped = r.value;
    const atOnce = MvccStore.load({ meta, records });
    expect(yields).toBeGreaterThanOrEqual(4);
    expect(stepped.hashKV()).toEqual(atOnce.hashKV());
    expect(stepped.range({ key: b('k'), rangeEnd: b('l'), countOnly: true }).count).toBe(80_000);
    expect(collectBytes(stepped.snapshot(1))).toEqual(collectBytes(atOnce.snapshot(1)));
  });

  it('a key with a long history is loaded in steps as often as as many keys with one record each', () => {
    // 120,000 single puts: of one counter-like key, or of 120,000 keys. A step is so many
    // records whoever's they are, so one key's history cannot hold the event loop for a whole pass.
    const putsOf = (keyOf: (n: number) => string): RevisionRecord[] =>
      Array.from({ length: 120_000 }, (_, n) => ({
        main: n + 2,
        sub: 0,
        type: EventType.Put,
        key: keyOf(n),
        value: `v${n}`,
        createRevision: keyOf(n) === keyOf(0) ? 2 : n + 2,
        version: keyOf(n) === keyOf(0) ? n + 1 : 1,
        lease: 0,
      }));
    const yieldsLoading = (records: RevisionRecord[]): number => {
      const steps = MvccStore.loadInSteps({
        meta: { currentRevision: 120_001, compactedRevision: 0 },
        records,
      });
      let yields = 0;
      for (let r = steps.next(); !r.done; r = steps.next()) yields++;
      return yields;
    };
    const oneKey = yieldsLoading(putsOf(() => 'counter'));
    const manyKeys = yieldsLoading(putsOf((n) => `k${String(n).padStart(6, '0')}`));
    expect(manyKeys).toBeGreaterThanOrEqual(5);
    expect(oneKey).toBe(manyKeys);
  });

  it('records out of revision order are refused at load', () => {
    const live = newStore();
    put(live, 'a', '1');
    put(live, 'b', '2');
    const { meta, records } = live.persisted();
    const swapped = [...records].reverse();
    expect(() => MvccStore.load({ meta, records: swapped })).toThrow(/after/);
  });

  it('persisted() rewrites a store from scratch (after a raft snapshot is installed)', () => {
    const live = newStore();
    for (const c of workload(23, 200, () => live)) live.apply(c);
    const { meta, records } = live.persisted();
    const rebuilt = MvccStore.load({ meta, records: [...records] });
    expect(readBattery(rebuilt)).toEqual(readBattery(live));
  });
});
