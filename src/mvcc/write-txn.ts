/**
 * One write of the state machine: every change it makes shares the main revision
 * current + 1, with sub revisions 0, 1, 2... in the order made. Changes enter the index at
 * once, so later reads in the same Txn see them (etcd 3.4-3.6 do the same). finish()
 * raises the store revision by one if anything changed, and by nothing otherwise.
 */
import { assert } from '../common/assert.js';
import type { KeyRange } from './key-range.js';
import type { ReadView } from './range.js';
import type { KvState } from './state.js';
import { EMPTY_BYTES, EventType, type KeyValue, type MvccEvent, type RevisionRecord } from './types.js';

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

  /** Writes a key: create revision and version continue its generation or start a new one. */
  put(key: Uint8Array, value: Uint8Array, lease: number): KeyValue {
    assert(!this.finished, 'put after finish');
    const existing = this.state.keyIndex(key);
    const prev = existing?.current;
    const main = this.writeRevision;
    const kv: KeyValue = {
      key: existing?.key ?? key,
      createRevision: prev?.createRevision ?? main,
      modRevision: main,
      version: (prev?.version ?? 0) + 1,
      value,
      lease,
    };
    this.append({ main, sub: this.records.length, type: EventType.Put, kv });
    return kv;
  }

  /** Deletes every live key in the range and returns their last versions, in key order. */
  deleteRange(range: KeyRange): KeyValue[] {
    assert(!this.finished, 'delete after finish');
    const { kvs } = this.state.rangeAt(range, this.revision, 0, false);
    for (const kv of kvs) this.deleteKey(kv.key);
    return kvs;
  }

  /** Deletes one key if it is live; returns its last version. */
  deleteKey(key: Uint8Array): KeyValue | undefined {
    const ki = this.state.keyIndex(key);
    if (ki?.current === undefined) return undefined;
    const prev = ki.current;
    const main = this.writeRevision;
    const tombstone: KeyValue = {
      key: ki.key,
      createRevision: 0,
      modRevision: main,
      version: 0,
      value: EMPTY_BYTES,
      lease: 0,
    };
    this.append({ main, sub: this.records.length, type: EventType.Delete, kv: tombstone });
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
    const prevKv = this.state.appendRecord(record);
    this.records.push(record);
    this.events.push(
      prevKv === undefined
        ? { type: record.type, kv: record.kv }
        : { type: record.type, kv: record.kv, prevKv },
    );
  }
}
