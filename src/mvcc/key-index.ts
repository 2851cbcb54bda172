/**
 * The history of one key, as etcd's keyIndex: the key's records in revision order, its
 * generations (each the life of the key from the put that created it to the delete, or
 * tombstone, that ended it) following one another in that list. A flat list rather than a
 * list of generations costs one array per key instead of three objects, which counts at a
 * million keys. The records themselves are held here, so a read at any revision finds its
 * record without a second lookup.
 */
import { assert } from '../common/assert.js';
import type { BinaryString } from './binary-string.js';
import { EventType, type RevisionRecord } from './types.js';

/** The records of one key, and its current version for fast reads at the head. */
export class KeyIndex {
  /**
   * Invariant: in ascending (main, sub) order; a DELETE follows a PUT, except that the first
   * record may be a DELETE left alone by compaction (its generation's puts dropped).
   */
  private records: RevisionRecord[] = NO_RECORDS;
  /** Invariant: the key's latest version (its PUT record), undefined when the latest change is a delete. */
  private currentRecord: RevisionRecord | undefined;
  /** Invariant: the main revision of the latest change to the key (0 before any). */
  private lastMain = 0;

  constructor(readonly key: BinaryString) {}

  /** The key's latest version (its PUT record), or undefined if it is deleted. */
  get current(): RevisionRecord | undefined {
    return this.currentRecord;
  }

  /** The main revision of the latest change to the key. */
  get lastChangeRevision(): number {
    return this.lastMain;
  }

  /** Whether compaction removed every record: the key can be dropped from the index. */
  get isEmpty(): boolean {
    return this.records.length === 0;
  }

  /** The version (PUT record) of the key the store held at revision (after all of that revision's changes). */
  at(revision: number): RevisionRecord | undefined {
    if (revision >= this.lastMain) return this.currentRecord;
    const i = lastIndexAtOrBefore(this.records, revision);
    const record = i < 0 ? undefined : this.records[i]!;
    return record?.type === EventType.Put ? record : undefined;
  }

  /** Records a put; starts a new generation if the key is deleted. */
  addPut(record: RevisionRecord): void {
    assert(record.type === EventType.Put, 'addPut takes a PUT record');
    assert(record.main >= this.lastMain, () => `put at ${record.main} after a change at ${this.lastMain}`);
    this.append(record);
    this.currentRecord = record;
    this.lastMain = record.main;
  }

  /** Records a delete; the key must currently exist. */
  addTombstone(record: RevisionRecord): void {
    assert(record.type === EventType.Delete, 'addTombstone takes a DELETE record');
    assert(this.currentRecord !== undefined, 'tombstone of a key that does not exist');
    assert(record.main >= this.lastMain, () => `delete at ${record.main} after a change at ${this.lastMain}`);
    this.append(record);
    this.currentRecord = undefined;
    this.lastMain = record.main;
  }

  /**
   * Restores a tombstone whose puts an earlier compaction dropped (kept because it sits at
   * exactly the compaction revision). Only loading a compacted history meets one.
   */
  restoreCompactedTombstone(record: RevisionRecord): void {
    assert(record.type === EventType.Delete, 'restoreCompactedTombstone takes a DELETE record');
    assert(this.records.length === 0, 'a compacted tombstone is the first record of its key');
    this.append(record);
    this.currentRecord = undefined;
    this.lastMain = record.main;
  }

  /**
   * Drops what no read at revision >= atRevision can see and returns the dropped records.
   * Kept: every record after atRevision, the latest put at or before it, and a tombstone at
   * exactly atRevision (as etcd 3.6 does, so the DELETE events of the compaction revision,
   * which stays readable, can still be replayed to a watcher that starts there).
   */
  compact(atRevision: number): RevisionRecord[] {
    const rs = this.records;
    // Generations that ended before atRevision go whole.
    let drop = 0;
    for (let i = 0; i < rs.length && rs[i]!.main < atRevision; i++)
      if (rs[i]!.type === EventType.Delete) drop = i + 1;
    // The first generation left: all of it after atRevision, or ended exactly there (keep its
    // tombstone only), or alive at atRevision (keep from its latest put at or before it).
    let end = drop;
    while (end < rs.length && rs[end]!.type === EventType.Put) end++;
    if (end < rs.length && rs[end]!.main === atRevision) drop = end;
    else {
      const latest = lastIndexAtOrBefore(rs, atRevision, drop, end);
      if (latest > drop) drop = latest;
    }
    return drop === 0 ? [] : rs.splice(0, drop);
  }

  private append(record: RevisionRecord): void {
    // An array literal is allocated at its size; a push into an empty array reserves 17
    // slots (about 130 bytes more per key, most keys having one record).
    if (this.records.length === 0) this.records = [record];
    else this.records.push(record);
  }
}

/** The records of a key not yet written (shared and never changed: the first write replaces it). */
const NO_RECORDS: RevisionRecord[] = Object.freeze([]) as unknown as RevisionRecord[];

/** Index of the last record in [from, to) with main <= revision, or from - 1 (binary search: records ascend). */
function lastIndexAtOrBefore(
  records: readonly RevisionRecord[],
  revision: number,
  from = 0,
  to = records.length,
): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.main <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
