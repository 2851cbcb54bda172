/**
 * The history of one key, as etcd's keyIndex: the key's records in revision order, its
 * generations (each the life of the key from the put that created it to the delete, or
 * tombstone, that ended it) following one another in that list. A flat list rather than a
 * list of generations costs one array per key instead of three objects, and a key with a
 * single record holds it without an array, which counts at a million keys. The records
 * themselves are held here, so a read at any revision finds its record without a second lookup.
 */
import { assert } from '../common/assert.js';
import type { BinaryString } from './binary-string.js';
import { EventType, type RevisionRecord } from './types.js';

/** The records of one key, and its current version for fast reads at the head. */
export class KeyIndex {
  /**
   * The key's records, in ascending (main, sub) order: undefined when there are none, the
   * record itself when there is one (most keys: no array to pay for), else an array.
   * Invariant: a DELETE follows a PUT, except that the first record may be a DELETE left
   * alone by compaction (its generation's puts dropped).
   */
  private history: RevisionRecord | RevisionRecord[] | undefined;

  constructor(readonly key: BinaryString) {}

  /** The key's latest version (its PUT record), or undefined if it is deleted. */
  get current(): RevisionRecord | undefined {
    const last = this.last();
    return last?.type === EventType.Put ? last : undefined;
  }

  /** The key's only record, when it holds exactly one (the state then holds the record instead). */
  get only(): RevisionRecord | undefined {
    const h = this.history;
    return h === undefined || Array.isArray(h) ? undefined : h;
  }

  /** The main revision of the latest change to the key (0 before any). */
  get lastChangeRevision(): number {
    return this.last()?.main ?? 0;
  }

  /** Whether compaction removed every record: the key can be dropped from the index. */
  get isEmpty(): boolean {
    return this.history === undefined;
  }

  /** The version (PUT record) of the key the store held at revision (after all of that revision's changes). */
  at(revision: number): RevisionRecord | undefined {
    const h = this.history;
    if (h === undefined) return undefined;
    let record: RevisionRecord | undefined;
    if (!Array.isArray(h)) record = h.main <= revision ? h : undefined;
    else {
      const i = lastIndexAtOrBefore(h, revision);
      record = i < 0 ? undefined : h[i]!;
    }
    return record?.type === EventType.Put ? record : undefined;
  }

  /** Records a put; starts a new generation if the key is deleted. */
  addPut(record: RevisionRecord): void {
    assert(record.type === EventType.Put, 'addPut takes a PUT record');
    const lastMain = this.lastChangeRevision;
    assert(record.main >= lastMain, () => `put at ${record.main} after a change at ${lastMain}`);
    this.append(record);
  }

  /** Records a delete; the key must currently exist. */
  addTombstone(record: RevisionRecord): void {
    assert(record.type === EventType.Delete, 'addTombstone takes a DELETE record');
    assert(this.current !== undefined, 'tombstone of a key that does not exist');
    const lastMain = this.lastChangeRevision;
    assert(record.main >= lastMain, () => `delete at ${record.main} after a change at ${lastMain}`);
    this.append(record);
  }

  /**
   * Restores a tombstone whose puts an earlier compaction dropped (kept because it sits at
   * exactly the compaction revision). Only loading a compacted history meets one.
   */
  restoreCompactedTombstone(record: RevisionRecord): void {
    assert(record.type === EventType.Delete, 'restoreCompactedTombstone takes a DELETE record');
    assert(this.history === undefined, 'a compacted tombstone is the first record of its key');
    this.history = record;
  }

  /**
   * Drops what no read at revision >= atRevision can see and returns the dropped records.
   * Kept: every record after atRevision, the latest put at or before it, and a tombstone at
   * exactly atRevision (as etcd 3.6 does, so the DELETE events of the compaction revision,
   * which stays readable, can still be replayed to a watcher that starts there).
   */
  compact(atRevision: number): RevisionRecord[] {
    const h = this.history;
    if (h === undefined) return [];
    if (!Array.isArray(h)) {
      if (!loneRecordCompacted(h, atRevision)) return [];
      this.history = undefined;
      return [h];
    }
    // Generations that ended before atRevision go whole.
    let drop = 0;
    for (let i = 0; i < h.length && h[i]!.main < atRevision; i++)
      if (h[i]!.type === EventType.Delete) drop = i + 1;
    // The first generation left: all of it after atRevision, or ended exactly there (keep its
    // tombstone only), or alive at atRevision (keep from its latest put at or before it).
    let end = drop;
    while (end < h.length && h[end]!.type === EventType.Put) end++;
    if (end < h.length && h[end]!.main === atRevision) drop = end;
    else {
      const latest = lastIndexAtOrBefore(h, atRevision, drop, end);
      if (latest > drop) drop = latest;
    }
    if (drop === 0) return [];
    const removed = h.splice(0, drop);
    if (h.length <= 1) this.history = h[0];
    return removed;
  }

  private last(): RevisionRecord | undefined {
    const h = this.history;
    return Array.isArray(h) ? h[h.length - 1] : h;
  }

  private append(record: RevisionRecord): void {
    const h = this.history;
    if (h === undefined) this.history = record;
    else if (!Array.isArray(h)) this.history = [h, record];
    else h.push(record);
  }
}

/**
 * Whether compaction at atRevision drops a key's only record: only a generation that ended
 * before atRevision goes (a tombstone below it). KvState holds such keys without a KeyIndex.
 */
export function loneRecordCompacted(record: RevisionRecord, atRevision: number): boolean {
  return record.type === EventType.Delete && record.main < atRevision;
}

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
