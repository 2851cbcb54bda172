/**
 * The history of one key, as etcd's keyIndex: a list of generations, each the life of the key
 * from a put that created it to the delete (tombstone) that ended it. The records themselves
 * are held here, so a read at any revision finds its record without a second lookup.
 */
import { assert } from '../common/assert.js';
import type { BinaryString } from './binary-string.js';
import { EventType, type RevisionRecord } from './types.js';

/** One life of a key. */
interface Generation {
  /** Invariant: PUT records in ascending revision order. */
  puts: RevisionRecord[];
  /** The DELETE that ended this life; only the last generation may lack one. */
  tombstone: RevisionRecord | undefined;
}

/** The generations of one key, and its current version for fast reads at the head. */
export class KeyIndex {
  /**
   * Invariant: chronological and non-overlapping; every generation except the last has a
   * tombstone; no generation is empty (it has a put or, after compaction, only its tombstone).
   */
  private generations: Generation[] = NO_GENERATIONS;
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
    return this.generations.length === 0;
  }

  /** The version (PUT record) of the key the store held at revision (after all of that revision's changes). */
  at(revision: number): RevisionRecord | undefined {
    if (revision >= this.lastMain) return this.currentRecord;
    for (let i = this.generations.length - 1; i >= 0; i--) {
      const g = this.generations[i]!;
      const first = g.puts[0] ?? g.tombstone!;
      if (first.main > revision) continue;
      if (g.tombstone !== undefined && g.tombstone.main <= revision) return undefined;
      return latestPutAtOrBefore(g.puts, revision);
    }
    return undefined;
  }

  /** Records a put; opens a new generation if the key is deleted. */
  addPut(record: RevisionRecord): void {
    assert(record.type === EventType.Put, 'addPut takes a PUT record');
    assert(record.main >= this.lastMain, () => `put at ${record.main} after a change at ${this.lastMain}`);
    const last = this.generations[this.generations.length - 1];
    if (last === undefined) {
      // An array literal is allocated at its size; a push into an empty array reserves 17
      // slots (about 130 bytes more per key, most keys having one generation).
      this.generations = [{ puts: [record], tombstone: undefined }];
    } else if (last.tombstone !== undefined) {
      this.generations.push({ puts: [record], tombstone: undefined });
    } else {
      last.puts.push(record);
    }
    this.currentRecord = record;
    this.lastMain = record.main;
  }

  /** Records a delete; the key must currently exist. */
  addTombstone(record: RevisionRecord): void {
    assert(record.type === EventType.Delete, 'addTombstone takes a DELETE record');
    const last = this.generations[this.generations.length - 1];
    assert(last !== undefined && last.tombstone === undefined, 'tombstone of a key that does not exist');
    assert(record.main >= this.lastMain, () => `delete at ${record.main} after a change at ${this.lastMain}`);
    last.tombstone = record;
    this.currentRecord = undefined;
    this.lastMain = record.main;
  }

  /**
   * Restores a tombstone whose puts an earlier compaction dropped (kept because it sits at
   * exactly the compaction revision). Only loading a compacted history meets one.
   */
  restoreCompactedTombstone(record: RevisionRecord): void {
    assert(record.type === EventType.Delete, 'restoreCompactedTombstone takes a DELETE record');
    assert(this.generations.length === 0, 'a compacted tombstone is the first record of its key');
    this.generations = [{ puts: [], tombstone: record }];
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
    const removed: RevisionRecord[] = [];
    let dropGenerations = 0;
    for (const g of this.generations) {
      if (g.tombstone === undefined || g.tombstone.main >= atRevision) break;
      removed.push(...g.puts, g.tombstone);
      dropGenerations++;
    }
    if (dropGenerations > 0) this.generations.splice(0, dropGenerations);
    const g = this.generations[0];
    if (g === undefined) return removed;
    if (g.tombstone !== undefined && g.tombstone.main === atRevision) {
      removed.push(...g.puts);
      g.puts = [];
      return removed;
    }
    const keepFrom = latestPutIndexAtOrBefore(g.puts, atRevision);
    if (keepFrom > 0) removed.push(...g.puts.splice(0, keepFrom));
    return removed;
  }
}

/** The generations of a key not yet written (shared, never changed: writes replace it). */
const NO_GENERATIONS: Generation[] = Object.freeze([]) as unknown as Generation[];

/** Index of the last put with main <= revision, or -1 (binary search: puts ascend). */
function latestPutIndexAtOrBefore(puts: readonly RevisionRecord[], revision: number): number {
  let lo = 0;
  let hi = puts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (puts[mid]!.main <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function latestPutAtOrBefore(puts: readonly RevisionRecord[], revision: number): RevisionRecord | undefined {
  const i = latestPutIndexAtOrBefore(puts, revision);
  return i < 0 ? undefined : puts[i];
}
