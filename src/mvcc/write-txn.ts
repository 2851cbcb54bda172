/**
 * One write of the state machine: every change it makes shares the main revision
 * current + 1, with sub revisions 0, 1, 2... in the order made. Changes enter the index at
 * once, so later reads in the same Txn see them (etcd 3.4-3.6 do the same). finish()
 * raises the store revision by one if anything changed, and by nothing otherwise.
 */
import { assert } from '../common/assert.js';
import type { BinaryString } from './binary-string.js';
import type { KeyRange } from './key-range.js';
import type { ReadView } from './range.js';
import { kvOf, SlabRecord } from './slab-record.js';
import type { KvState } from './state.js';
import { EventType, type KeyValue, type MvccEvent, type RevisionRecord } from './types.js';

/**
 * The event of one change, its KeyValues made when first read: most writes have no watcher
 * to read them, and each KeyValue costs fresh byte arrays of its key and value (off the V8
 * heap for a value over 64 bytes), which the apply path made twice per put for nothing.
 */
class WrittenEvent implements MvccEvent {
  readonly type: EventType;
  private madeKv: KeyValue | undefined;
  private madePrevKv: KeyValue | undefined;

  private readonly prev: RevisionRecord | undefined;

  constructor(
    private readonly record: RevisionRecord,
    prev: RevisionRecord | undefined,
  ) {
    this.type = record.type;
    // A previous version whose value is in storage is read now: the event may be read after a
    // compaction deleted that value (watchers take their events later).
    this.prev = prev instanceof SlabRecord ? prev.withValueRead() : prev;
  }

  get kv(): KeyValue {
    this.madeKv ??= kvOf(this.record);
    return this.madeKv;
  }

  get prevKv(): KeyValue | undefined {
    if (this.prev === undefined) return undefined;
    this.madePrevKv ??= kvOf(this.prev);
    return this.madePrevKv;
  }
}

/** What a finished write changed: the records it appended and the events watchers get. */
export interface WriteOutcome {
  readonly records: readonly RevisionRecord[];
  readonly events: readonly MvccEvent[];
}

/** A write in progress; also a ReadView that sees the write's own changes. */
export class WriteTxn implements ReadView {
  /** The store revision when the write began. */
  readonly beginRevision: number;
  private readonly records: RevisionRecord[] = [];
  private readonly events: MvccEvent[] = [];
  private finished = false;

  constructor(readonly state: KvState) {
    this.beginRevision = state.currentRevision;
  }

  /** The revision every change of this write gets. */
  get writeRevision(): number {
    return this.beginRevision + 1;
  }

  /** The revision reads inside the write see: the begin revision until something changed. */
  get revision(): number {
    return this.records.length > 0 ? this.beginRevision + 1 : this.beginRevision;
  }

  /** Whether the write changed anything so far. */
  get changed(): boolean {
    return this.records.length > 0;
  }

  /**
   * Writes a key: create revision and version continue its generation or start a new one.
   * The value is copied (into the store's slabs: slab-record.ts), so it may be a view of
   * bytes the caller reuses.
   */
  put(key: BinaryString, value: Uint8Array, lease: number): RevisionRecord {
    assert(!this.finished, 'put after finish');
    const prev = this.state.current(key);
    const main = this.writeRevision;
    const record = this.state.valueSlabs.put(
      main,
      this.records.length,
      // One string per key, shared by all its records.
      this.state.indexedKey(key) ?? key,
      value,
      0,
      value.byteLength,
      prev?.createRevision ?? main,
      (prev?.version ?? 0) + 1,
      lease,
    );
    this.append(record);
    return record;
  }

  /** Deletes every live key in the range and returns their last versions, in key order. */
  deleteRange(range: KeyRange): RevisionRecord[] {
    assert(!this.finished, 'delete after finish');
    const { records } = this.state.rangeAt(range, this.revision, 0, false);
    for (const r of records) this.deleteKey(r.key);
    return records;
  }

  /** Deletes one key if it is live; returns its last version. */
  deleteKey(key: BinaryString): RevisionRecord | undefined {
    const prev = this.state.current(key);
    if (prev === undefined) return undefined;
    this.append({
      main: this.writeRevision,
      sub: this.records.length,
      type: EventType.Delete,
      key: prev.key,
      value: '',
      createRevision: 0,
      version: 0,
      lease: 0,
    });
    return prev;
  }

  /** Ends the write: raises the store revision if anything changed. */
  finish(): WriteOutcome {
    assert(!this.finished, 'finish twice');
    this.finished = true;
    if (this.records.length > 0) this.state.currentRevision = this.writeRevision;
    return { records: this.records, events: this.events };
  }

  private append(record: RevisionRecord): void {
    const prev = this.state.appendRecord(record);
    this.records.push(record);
    this.events.push(new WrittenEvent(record, prev));
  }
}
