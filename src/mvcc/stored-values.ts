/**
 * Values the store leaves in storage. A store loaded from disk holds its records' keys,
 * revisions and value lengths, not their values: each value stays under a key of its own
 * (its record key, codec/record-codec.ts), which start-up never reads, and is read from
 * storage synchronously when something asks for it (slab-record.ts). Loading a million keys
 * then reads and builds a tenth of the bytes, and a member's memory does not grow with the
 * values it loaded. Storage implements this (LevelDB's synchronous get); mvcc only names it.
 */

/** The values of the records a store loaded from storage, read when asked. */
export interface StoredValues {
  /** The value of the PUT record (main, sub); throws CORRUPT when storage does not hold it. */
  read(main: number, sub: number): Uint8Array;
  /**
   * The values as they are now, unchanged by later deletions (a compaction drops records a
   * frozen history still holds); release it when done with it.
   */
  pin(): PinnedValues;
}

/** A fixed view of the stored values (see StoredValues.pin). */
export interface PinnedValues {
  /** The value of the PUT record (main, sub) as it was when pinned. */
  read(main: number, sub: number): Uint8Array;
  /** Lets storage forget the view (idempotent). */
  release(): void;
}
