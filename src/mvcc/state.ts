/**
 * The store's data: the key index (key -> its only record, or its KeyIndex once it has
 * several, ordered bytewise), the history
 * (main revision -> its records, ordered), the lease attachments of live keys, and the
 * current and compacted revisions. A write's changes enter through appendRecord, in revision
 * order; records loaded from disk or from a snapshot enter all at once through loadRecords,
 * which adds each to its key's index entry the way appendRecord does (indexRecord). Records
 * loaded from disk are held as row numbers of a LoadedRows (loaded-rows.ts), in the index and
 * the history alike, and made into records when read.
 */
import { assert } from '../common/assert.js';
import { type BinaryString, binaryOf, compareBinary } from './binary-string.js';
import { snapshotRecordBytes } from './codec/record-size.js';
import { KeyIndex, loneRecordCompacted } from './key-index.js';
import type { KeyRange } from './key-range.js';
import { LeaseTable } from './lease-table.js';
import {
  keyOfRef,
  type LoadedRows,
  mainOfRef,
  type RecordRef,
  recordOfRef,
  subOfRef,
} from './loaded-rows.js';
import type { RevisionWrite } from './persistence.js';
import { hasStoredValue, SlabRecord, SlabWriter } from './slab-record.js';
import { createSortedMap, type SortedMap, sortedMapOf } from './sorted-map.js';
import type { PinnedValues, StoredValues } from './stored-values.js';
import { EventType, type RevisionRecord } from './types.js';

/** The versions (PUT records) a key-range walk found and how many live keys the range holds. */
export interface KeysAt {
  readonly records: RevisionRecord[];
  readonly count: number;
}

/**
 * The records of one main revision that holds several (records, or rows of records loaded
 * from disk); compaction leaves holes (in a copy: see dropRecord).
 */
class RevisionSlots {
  constructor(
    readonly slots: (RecordRef | undefined)[],
    /** Invariant: the number of defined slots, at least 2. */
    public live: number,
  ) {}
}

/**
 * What the history holds for one main revision: its record (or row) itself when it has one
 * (most writes are a single put or delete: no slots object or array to pay for), else its slots.
 */
type RevisionEntry = RecordRef | RevisionSlots;

/** The records of a revision's entry, in sub order (rows: the table its row numbers index). */
function* recordsOf(entry: RevisionEntry, rows: LoadedRows | undefined): Generator<RevisionRecord> {
  if (!(entry instanceof RevisionSlots)) {
    yield recordOfRef(entry, rows);
    return;
  }
  for (const ref of entry.slots) if (ref !== undefined) yield recordOfRef(ref, rows);
}

/** The history as it was at one moment (see KvState.frozenHistory). */
export interface FrozenHistory {
  readonly recordCount: number;
  /** The bytes the records take in a snapshot (see codec/record-size.ts). */
  readonly recordBytes: number;
  /** The records in revision order; every call gives the same ones. */
  readonly records: () => Iterable<RevisionRecord>;
}

/** The records of a history with fromRevision <= main <= toRevision, in revision order. */
function* recordsIn(
  history: SortedMap<number, RevisionEntry>,
  rows: LoadedRows | undefined,
  fromRevision: number,
  toRevision: number,
): Generator<RevisionRecord> {
  for (const [main, entry] of history.entries(fromRevision)) {
    if (main > toRevision) return;
    yield* recordsOf(entry, rows);
  }
}

/** The records with the values left in storage read from pinned, as a frozen history gives them. */
function* withPinnedValues(
  records: Iterable<RevisionRecord>,
  pinned: PinnedValues,
): Generator<RevisionRecord> {
  for (const record of records) yield record instanceof SlabRecord ? record.withValueRead(pinned) : record;
}

/**
 * Releases a frozen history's pinned view of storage once nothing holds its `records` (what a
 * snapshot's bytes keep): they may be read again (a resend), so no reader knows it read them last.
 */
const pinsToRelease = new FinalizationRegistry<PinnedValues>((pinned) => pinned.release());

/** Records loaded between two yields of KvState.loadRecordsInSteps (about 20-50 ms of work at a million keys). */
const LOAD_STEP_RECORDS = 50_000;

/**
 * What the key index holds for one key: its record (or row) itself while it has one (most
 * keys of a large store: no KeyIndex object to pay for), else its KeyIndex.
 */
type KeyEntry = RecordRef | KeyIndex;

/** The version (PUT record, or its row) the key had at revision, as KeyIndex.at. */
function versionAt(entry: KeyEntry, revision: number, rows: LoadedRows | undefined): RecordRef | undefined {
  if (entry instanceof KeyIndex) return entry.at(revision);
  if (typeof entry === 'number')
    return rows!.isPut(entry) && rows!.main(entry) <= revision ? entry : undefined;
  return entry.type === EventType.Put && entry.main <= revision ? entry : undefined;
}

/** Runs a stepped computation to its end and returns its result. */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Main revisions in ascending order. */
const compareRevision = (a: number, b: number): number => a - b;

/** The in-memory state behind MvccStore; mutated only by loadRecords (once, empty), appendRecord and compact. */
export class KvState {
  /** Invariant: ordered bytewise; every KeyIndex in it holds at least two records. */
  private keys: SortedMap<BinaryString, KeyEntry> = createSortedMap(compareBinary);
  /**
   * Invariant: history.get(r) is the only record of revision r, or its slots, where slots[s]
   * is the record of (r, s); compaction leaves holes (undefined), takes a revision down to its
   * record once one is left, and removes it once all its records are gone.
   */
  private history: SortedMap<number, RevisionEntry> = createSortedMap(compareRevision);
  /** Invariant: lease id -> the live keys whose current version carries it (never lease 0). */
  private readonly leases = new Map<number, Set<BinaryString>>();
  /** The leases that exist (granted and not yet revoked). */
  readonly leaseTable = new LeaseTable();
  /** Where the values of the puts applied to this state are copied (off the V8 heap: slab-record.ts). */
  readonly valueSlabs = new SlabWriter();
  /** Invariant: the number of records in history. */
  private records = 0;
  /** Invariant: the bytes the records in history take in a snapshot (snapshotRecordBytes summed). */
  private recordBytes = 0;
  /** The records loaded from disk, which the index and history hold as row numbers (set by the load). */
  private rows: LoadedRows | undefined;

  /** The revision of the latest write; 1 for an empty store (as etcd). */
  currentRevision = 1;
  /** Reads below this revision are refused; 0 until the first compaction. */
  compactedRevision = 0;

  /** values: where the values of records loaded without them are read (stored-values.ts). */
  constructor(private readonly values?: StoredValues) {}

  /** How many records the history holds. */
  get recordCount(): number {
    return this.records;
  }

  /** How many keys the index holds, deleted-but-not-compacted ones included. */
  get indexedKeyCount(): number {
    return this.keys.size;
  }

  /** The key's latest version (its PUT record), or undefined if it does not exist now. */
  current(key: BinaryString): RevisionRecord | undefined {
    const entry = this.keys.get(key);
    if (entry === undefined) return undefined;
    if (entry instanceof KeyIndex) return entry.current;
    if (typeof entry === 'number') return this.rows!.isPut(entry) ? this.rows!.record(entry) : undefined;
    return entry.type === EventType.Put ? entry : undefined;
  }

  /** The version of the key the store held at revision (undefined if none, or compacted away). */
  at(key: BinaryString, revision: number): RevisionRecord | undefined {
    const entry = this.keys.get(key);
    const version = entry === undefined ? undefined : versionAt(entry, revision, this.rows);
    return version === undefined ? undefined : recordOfRef(version, this.rows);
  }

  /** The string the key's records share, if the key has any history left (writes reuse it). */
  indexedKey(key: BinaryString): BinaryString | undefined {
    const entry = this.keys.get(key);
    return typeof entry === 'number' ? this.rows!.key(entry) : entry?.key;
  }

  /**
   * Adds one change. Records must arrive in (main, sub) order. Returns the key's version
   * before the change. A DELETE of a key with no live version is accepted only as the first
   * record of a key in a compacted history (see KeyIndex.restoreCompactedTombstone).
   */
  appendRecord(record: RevisionRecord): RevisionRecord | undefined {
    return this.add(record);
  }

  /**
   * Fills an empty state with records decoded from disk or a snapshot, in (main, sub) order.
   * The history and the key index are each built in one linear pass (sortedMapOf) instead of
   * one tree descent per record: the key index from the records put in key order by a stable
   * sort, which is linear on keys that arrive mostly in order (bulk loads, sequential ids).
   * A key met in several records gets the string its first record holds (equal strings
   * decoded apart are separate objects), as the records apply writes share one.
   */
  loadRecords(input: readonly RecordRef[], rows?: LoadedRows): void {
    runSteps(this.loadRecordsInSteps(input, rows));
  }

  /**
   * loadRecords in steps: yields after every LOAD_STEP_RECORDS records of its two passes, so a
   * caller that loads while it serves raft can let its event loop turn in between. Records
   * given as rows (of `rows`: a load from storage) stay rows in the index and the history,
   * except those of keys with several records, which become records (KeyIndex holds records).
   */
  *loadRecordsInSteps(input: readonly RecordRef[], rows?: LoadedRows): Generator<void, void> {
    assert(this.records === 0 && this.keys.size === 0, 'records load into an empty state only');
    const records = input.slice();
    const mainOf = (ref: RecordRef): number => mainOfRef(ref, rows);
    const subOf = (ref: RecordRef): number => subOfRef(ref, rows);
    const keyOf = (ref: RecordRef): BinaryString => keyOfRef(ref, rows);
    assert(rows !== undefined || records.every((r) => typeof r !== 'number'), 'rows without their table');
    for (let i = 1; i < records.length; i++) {
      const a = records[i - 1]!;
      const b = records[i]!;
      const aMain = mainOf(a);
      const bMain = mainOf(b);
      if (aMain > bMain || (aMain === bMain && subOf(a) >= subOf(b)))
        assert(false, `record (${bMain}, ${subOf(b)}) after (${aMain}, ${subOf(a)})`);
    }
    const order = new Array<number>(records.length);
    for (let i = 0; i < records.length; i++) order[i] = i;
    order.sort((i, j) => {
      const x = keyOf(records[i]!);
      const y = keyOf(records[j]!);
      return x < y ? -1 : x > y ? 1 : i - j;
    });
    yield;
    const keys: BinaryString[] = [];
    const entries: KeyEntry[] = [];
    let nextStep = LOAD_STEP_RECORDS;
    for (let at = 0; at < order.length; ) {
      const first = records[order[at]!]!;
      const key = keyOf(first);
      let end = at + 1;
      while (end < order.length && keyOf(records[order[end]!]!) === key) end++;
      keys.push(key);
      if (end - at === 1) {
        // A key with one record: the index holds the record (or its row).
        entries.push(first);
        if (typeof first !== 'number') {
          this.checkFirstRecord(first);
          if (first.type === EventType.Put) this.moveLease(key, 0, first.lease);
        } else if (!rows!.isPut(first)) this.checkFirstRecord(rows!.record(first));
        else this.moveLease(key, 0, rows!.lease(first));
      } else {
        const ki = new KeyIndex(key);
        for (let j = at; j < end; j++) {
          // A key with a long history yields within it: nothing sees the index before the end.
          if (j >= nextStep) {
            nextStep = j + LOAD_STEP_RECORDS;
            yield;
          }
          const i = order[j]!;
          let ref = records[i]!;
          // The key's records share its first record's string; the history holds the same
          // records as the KeyIndex.
          if (typeof ref === 'number') {
            rows!.shareKey(ref, ki.key);
            ref = rows!.record(ref);
          } else if (j > at) {
            if (ref instanceof SlabRecord) ref.shareKey(ki.key);
            else ref = { ...ref, key: ki.key };
          }
          records[i] = ref;
          this.indexRecord(ki, ref);
        }
        entries.push(ki);
      }
      at = end;
      if (at >= nextStep) {
        nextStep = at + LOAD_STEP_RECORDS;
        yield;
      }
    }
    const mains: number[] = [];
    const revisions: RevisionEntry[] = [];
    nextStep = LOAD_STEP_RECORDS;
    for (let first = 0; first < records.length; ) {
      if (first >= nextStep) {
        nextStep += LOAD_STEP_RECORDS;
        yield;
      }
      const main = mainOf(records[first]!);
      let end = first + 1;
      while (end < records.length && mainOf(records[end]!) === main) end++;
      for (let i = first; i < end; i++) {
        const ref = records[i]!;
        this.recordBytes += typeof ref === 'number' ? rows!.snapshotBytes(ref) : snapshotRecordBytes(ref);
      }
      mains.push(main);
      if (end - first === 1) revisions.push(records[first]!);
      else {
        // Subs 0..n-1 (no compaction holes) make an array of exactly the records.
        const dense = subOf(records[end - 1]!) === end - first - 1;
        const slots: (RecordRef | undefined)[] = dense ? records.slice(first, end) : [];
        if (!dense) for (let i = first; i < end; i++) slots[subOf(records[i]!)] = records[i]!;
        revisions.push(new RevisionSlots(slots, end - first));
      }
      this.records += end - first;
      first = end;
    }
    this.history = sortedMapOf(mains, revisions, compareRevision);
    yield;
    this.keys = sortedMapOf(keys, entries, compareBinary);
    rows?.seal();
    this.rows = rows;
  }

  /** The first record of a key: a DELETE only as the tombstone a compaction kept (KeyIndex.restoreCompactedTombstone). */
  private checkFirstRecord(record: RevisionRecord): void {
    if (record.type === EventType.Delete)
      assert(record.main === this.compactedRevision, 'delete of a missing key outside a compacted history');
  }

  /** Adds a record to the history and to its key's index entry; returns the key's version before it. */
  private add(record: RevisionRecord): RevisionRecord | undefined {
    const revision = this.history.get(record.main);
    if (revision === undefined) {
      const last = this.history.maxKey();
      assert(last === undefined || last < record.main, () => `record ${record.main} after ${last}`);
      this.history.set(record.main, record);
    } else if (revision instanceof RevisionSlots) {
      assert(
        record.sub >= revision.slots.length,
        () => `record (${record.main}, ${record.sub}) out of order`,
      );
      revision.slots[record.sub] = record;
      revision.live++;
    } else {
      // The revision's second record: it gets slots. A revision is written whole in one
      // apply, so no frozen history shares the entry being replaced (nor is it a loaded row).
      assert(typeof revision !== 'number', () => `revision ${record.main} was loaded, not written`);
      assert(record.sub > revision.sub, () => `record (${record.main}, ${record.sub}) out of order`);
      let slots: (RevisionRecord | undefined)[];
      if (revision.sub === 0 && record.sub === 1) slots = [revision, record];
      else {
        slots = [];
        slots[revision.sub] = revision;
        slots[record.sub] = record;
      }
      this.history.set(record.main, new RevisionSlots(slots, 2));
    }
    this.records++;
    this.recordBytes += snapshotRecordBytes(record);

    const entry = this.keys.get(record.key);
    if (entry === undefined) {
      this.checkFirstRecord(record);
      this.keys.set(record.key, record);
      if (record.type === EventType.Put) this.moveLease(record.key, 0, record.lease);
      return undefined;
    }
    if (entry instanceof KeyIndex) return this.indexRecord(entry, record);
    // The key's second record: it gets a KeyIndex, which takes the first as a load would
    // (its lease attachment is already there: adding it again changes nothing). A loaded row
    // becomes a record for it; the history keeps the row (dropRecord matches them by revision).
    const firstRecord = recordOfRef(entry, this.rows);
    const ki = new KeyIndex(firstRecord.key);
    this.indexRecord(ki, firstRecord);
    this.keys.set(ki.key, ki);
    return this.indexRecord(ki, record);
  }

  /** Adds a record (already in history) to its key's index entry; returns the key's version before it. */
  private indexRecord(ki: KeyIndex, record: RevisionRecord): RevisionRecord | undefined {
    const prev = ki.current;
    if (record.type === EventType.Put) {
      ki.addPut(record);
    } else if (prev === undefined) {
      this.checkFirstRecord(record);
      ki.restoreCompactedTombstone(record);
    } else {
      ki.addTombstone(record);
    }
    this.moveLease(ki.key, prev?.lease ?? 0, ki.current?.lease ?? 0);
    return prev;
  }

  /** The live keys attached to a lease, in key order. */
  keysOfLease(leaseId: number): BinaryString[] {
    const set = this.leases.get(leaseId);
    if (set === undefined) return [];
    return [...set].sort(compareBinary);
  }

  /**
   * Walks a key range at a revision: count is every live key, records the versions of the
   * first `limit` of them (all when limit <= 0; none when countOnly).
   */
  rangeAt(range: KeyRange, revision: number, limit: number, countOnly: boolean): KeysAt {
    const records: RevisionRecord[] = [];
    let count = 0;
    const visit = (entry: KeyEntry): void => {
      const version = versionAt(entry, revision, this.rows);
      if (version === undefined) return;
      count++;
      if (!countOnly && (limit <= 0 || records.length < limit)) records.push(recordOfRef(version, this.rows));
    };
    const from = binaryOf(range.key);
    if (range.kind === 'single') {
      const entry = this.keys.get(from);
      if (entry !== undefined) visit(entry);
      return { records, count };
    }
    const end = range.kind === 'interval' ? binaryOf(range.end) : undefined;
    for (const [key, entry] of this.keys.entries(from)) {
      if (end !== undefined && key >= end) break;
      visit(entry);
    }
    return { records, count };
  }

  /** Records with fromRevision <= main <= toRevision, in revision order. */
  recordsBetween(fromRevision: number, toRevision: number): Generator<RevisionRecord> {
    return recordsIn(this.history, this.rows, fromRevision, toRevision);
  }

  /**
   * Drops the history no read at revision >= atRevision needs and returns every revision it
   * changed, with the records each still holds (none: the revision is gone). Only keys changed
   * since the previous compaction can have anything to drop: every other key already holds at
   * most one record at or below it, its latest put.
   */
  compact(atRevision: number): RevisionWrite[] {
    assert(atRevision > this.compactedRevision, 'compaction must move forward');
    assert(atRevision <= this.currentRevision, 'compaction beyond the current revision');
    // The keys of the records in [compactedRevision, atRevision], read without making records of rows.
    const touched = new Set<BinaryString>();
    for (const [main, entry] of this.history.entries(this.compactedRevision)) {
      if (main > atRevision) break;
      if (!(entry instanceof RevisionSlots)) touched.add(keyOfRef(entry, this.rows));
      else for (const ref of entry.slots) if (ref !== undefined) touched.add(keyOfRef(ref, this.rows));
    }
    // Revisions this compaction replaced: made here, so no frozen history shares them.
    const replaced = new Set<RevisionSlots>();
    /** main -> subs of its dropped PUTs with a value (stored under their own keys). */
    const changed = new Map<number, number[]>();
    for (const key of touched) {
      const entry = this.keys.get(key);
      assert(entry !== undefined, 'a record whose key is not indexed');
      let removed: RevisionRecord[];
      if (entry instanceof KeyIndex) {
        removed = entry.compact(atRevision);
        const only = entry.only;
        if (entry.isEmpty) this.keys.delete(key);
        else if (only !== undefined) this.keys.set(key, only);
      } else {
        // Only a DELETE can go (loneRecordCompacted): a row is made a record only then.
        const lone =
          typeof entry !== 'number' ? entry : this.rows!.isPut(entry) ? undefined : this.rows!.record(entry);
        removed = lone !== undefined && loneRecordCompacted(lone, atRevision) ? [lone] : [];
        if (removed.length > 0) this.keys.delete(key);
      }
      for (const record of removed) {
        this.dropRecord(record, replaced);
        let dropped = changed.get(record.main);
        if (dropped === undefined) {
          dropped = [];
          changed.set(record.main, dropped);
        }
        if (hasStoredValue(record)) dropped.push(record.sub);
      }
    }
    this.compactedRevision = atRevision;
    const out: RevisionWrite[] = [];
    for (const main of [...changed.keys()].sort((a, b) => a - b)) {
      const entry = this.history.get(main);
      const records = entry === undefined ? [] : [...recordsOf(entry, this.rows)];
      const droppedValues = changed.get(main)!;
      out.push(droppedValues.length === 0 ? { main, records } : { main, records, droppedValues });
    }
    return out;
  }

  /**
   * The history as it is now, unchanged by later writes and compactions (the snapshot's
   * view): a copy-on-write clone of the tree, which costs nothing until the tree changes.
   * A revision's slots never change once its write is applied, except by compaction,
   * which replaces them instead (dropRecord), so the clone's revisions stay as they were.
   */
  frozenHistory(): FrozenHistory {
    const history = this.history.clone();
    const rows = this.rows;
    const all = (): Generator<RevisionRecord> => recordsIn(history, rows, 0, Number.MAX_SAFE_INTEGER);
    if (this.values === undefined)
      return { recordCount: this.records, recordBytes: this.recordBytes, records: all };
    // Values left in storage are read from a view of it pinned now: a compaction after this
    // deletes the values of the records it drops, which this history still holds.
    const pinned = this.values.pin();
    const records = (): Generator<RevisionRecord> => withPinnedValues(all(), pinned);
    pinsToRelease.register(records, pinned);
    return { recordCount: this.records, recordBytes: this.recordBytes, records };
  }

  /**
   * Removes one record. A revision is replaced, not changed in place, since a frozen history
   * may share it; the replacement (in `replaced`) takes the compaction's later drops in place,
   * so a revision of n records costs one copy, not n.
   */
  private dropRecord(record: RevisionRecord, replaced: Set<RevisionSlots>): void {
    let entry = this.history.get(record.main);
    const stored = entry instanceof RevisionSlots ? entry.slots[record.sub] : entry;
    // A loaded row is held as its row; its key's index may hold a record made of it.
    const same =
      typeof stored === 'number'
        ? this.rows!.main(stored) === record.main && this.rows!.sub(stored) === record.sub
        : stored === record;
    assert(entry !== undefined && same, 'dropping a record not stored');
    this.records--;
    this.recordBytes -= snapshotRecordBytes(record);
    if (record instanceof SlabRecord) record.release();
    if (!(entry instanceof RevisionSlots)) {
      this.history.delete(record.main);
      return;
    }
    if (entry.live === 2) {
      // One record left: the revision holds it without slots.
      const left = entry.slots.find((r, sub) => r !== undefined && sub !== record.sub);
      assert(left !== undefined, 'a revision of two records holds another');
      this.history.set(record.main, left);
      return;
    }
    if (!replaced.has(entry)) {
      entry = new RevisionSlots(entry.slots.slice(), entry.live);
      replaced.add(entry);
      this.history.set(record.main, entry);
    }
    entry.slots[record.sub] = undefined;
    entry.live--;
  }

  private moveLease(key: BinaryString, from: number, to: number): void {
    if (from === to) return;
    if (from !== 0) {
      const set = this.leases.get(from);
      set?.delete(key);
      if (set?.size === 0) this.leases.delete(from);
    }
    if (to !== 0) {
      let set = this.leases.get(to);
      if (set === undefined) {
        set = new Set();
        this.leases.set(to, set);
      }
      set.add(key);
    }
  }
}
