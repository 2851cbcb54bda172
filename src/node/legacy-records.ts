/**
 * The records a folder of data format 2 keeps one per LevelDB key (the 12-byte record key),
 * converted to one value per revision a bounded chunk of whole revisions at a time, each
 * chunk in the batch of an ordinary write. A folder is readable at every step: a revision is
 * in one form or the other, never both, because each chunk puts its revisions' values and
 * deletes their old keys in one atomic batch.
 */
import { assert } from '../common/assert.js';
import type { Revision } from '../mvcc/index.js';

/** Old-style records converted per write, at least (whole revisions, so a Txn's may exceed it). */
export const LEGACY_RECORDS_PER_WRITE = 4096;

/** Whole revisions taken for conversion: their old keys, and the range of main revisions they span. */
export interface LegacyChunk {
  readonly fromMain: number;
  readonly toMain: number;
  /** The record keys to delete, in revision order. */
  readonly keys: readonly Revision[];
}

/** The old-style records not converted yet, oldest first; only (main, sub) is kept, the store holds the records. */
export class LegacyRecords {
  private readonly mains: Float64Array;
  private readonly subs: Float64Array;
  /** Invariant: records [next, length) are not converted yet, and next falls on a revision's first record. */
  private next = 0;

  /** Takes the positions of the old-style records, which must be in revision order. */
  constructor(records: readonly Revision[]) {
    this.mains = new Float64Array(records.length);
    this.subs = new Float64Array(records.length);
    records.forEach((r, i) => {
      if (i > 0) {
        const p = records[i - 1]!;
        assert(
          p.main < r.main || (p.main === r.main && p.sub < r.sub),
          'old-style records in revision order',
        );
      }
      this.mains[i] = r.main;
      this.subs[i] = r.sub;
    });
  }

  /** Old-style records left to convert. */
  get remaining(): number {
    return this.mains.length - this.next;
  }

  /** The newest main revision still in the old form (0 when none is left). */
  get lastMain(): number {
    return this.remaining > 0 ? this.mains[this.mains.length - 1]! : 0;
  }

  /**
   * Takes the oldest revisions left: at least `minRecords` records and every revision up to
   * `throughMain`, always whole revisions. Undefined when none is left.
   */
  take(minRecords: number, throughMain = 0): LegacyChunk | undefined {
    const start = this.next;
    const n = this.mains.length;
    if (start >= n) return undefined;
    let end = Math.min(n, start + Math.max(1, minRecords));
    // Whole revisions, and every one up to throughMain.
    while (end < n && (this.mains[end] === this.mains[end - 1] || this.mains[end]! <= throughMain)) end++;
    this.next = end;
    const keys: Revision[] = [];
    for (let i = start; i < end; i++) keys.push({ main: this.mains[i]!, sub: this.subs[i]! });
    return { fromMain: this.mains[start]!, toMain: this.mains[end - 1]!, keys };
  }
}
