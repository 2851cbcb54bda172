/**
 * The records a store loaded from disk, as columns: one row per record, its revision, type,
 * value length, create revision, version and lease in typed arrays (off the V8 heap) and its
 * key in one array of strings. A million records loaded as objects cost a million
 * allocations that all survive their young-generation collections, which copy each of them
 * twice: a third of a member's start-up CPU. As rows they cost a few large arrays. The store's
 * index and history hold a loaded record as its row number (a small integer: no allocation)
 * and make a record of it only when something reads it (`record`). Rows never change once
 * loaded; the store drops them from its index and history, not from here, so a frozen history
 * reads them as they were.
 */
import { assert } from '../common/assert.js';
import type { BinaryString } from './binary-string.js';
import { corrupt } from './codec/bytes.js';
import { snapshotBytesOf } from './codec/record-size.js';
import { storedRecord } from './slab-record.js';
import type { StoredValues } from './stored-values.js';
import { EventType, type RevisionRecord } from './types.js';

/** A record, or the row of a record loaded from disk (LoadedRows). */
export type RecordRef = RevisionRecord | number;

/** Rows per chunk (a power of two): the columns grow a chunk at a time, never copied. */
const CHUNK_ROWS_LOG2 = 16;
const CHUNK_ROWS = 1 << CHUNK_ROWS_LOG2;
const IN_CHUNK = CHUNK_ROWS - 1;
/** A row's numbers that may exceed 32 bits, in a Float64Array chunk: main, create revision, version, lease. */
const WIDE = 4;
const MAIN = 0;
const CREATE = 1;
const VERSION = 2;
const LEASE = 3;
/** A row's 32-bit numbers, in a Uint32Array chunk: sub, value length, event type. */
const NARROW = 3;
const NARROW_MAX = 2 ** 32 - 1;
const SUB = 0;
const VALUE_LENGTH = 1;
const TYPE = 2;

/** The records loaded from disk, as columns; rows are added while loading only. */
export class LoadedRows {
  /** Chunk c holds rows [c * CHUNK_ROWS, (c + 1) * CHUNK_ROWS), WIDE numbers per row. */
  private readonly wide: Float64Array[] = [];
  /** As wide, NARROW numbers per row. */
  private readonly narrow: Uint32Array[] = [];
  private readonly keys: BinaryString[] = [];
  /** Invariant: rows in use. */
  private rows = 0;
  /** Set by seal: no row is added after the load. */
  private sealed = false;

  /** values: where the values of the rows' PUTs are read (none when no row holds a value). */
  constructor(private readonly values?: StoredValues) {}

  /** How many rows the table holds. */
  get size(): number {
    return this.rows;
  }

  /** Ends the load: trims the columns' last chunks to the rows in use. */
  seal(): void {
    if (this.sealed) return;
    this.sealed = true;
    const used = this.rows & IN_CHUNK;
    if (used === 0) return;
    const last = this.wide.length - 1;
    this.wide[last] = this.wide[last]!.slice(0, used * WIDE);
    this.narrow[last] = this.narrow[last]!.slice(0, used * NARROW);
  }

  /** The row's main revision. */
  main(row: number): number {
    return this.wideOf(row, MAIN);
  }

  /** The row's sub revision. */
  sub(row: number): number {
    return this.narrowOf(row, SUB);
  }

  /** Whether the row is a PUT (else a DELETE). */
  isPut(row: number): boolean {
    return this.narrowOf(row, TYPE) === EventType.Put;
  }

  /** The row's key. */
  key(row: number): BinaryString {
    return this.keys[row]!;
  }

  /** The row's lease (0 for none, and for a DELETE). */
  lease(row: number): number {
    return this.wideOf(row, LEASE);
  }

  /** Whether the row's PUT has a value of its own in storage (hasStoredValue of its record). */
  hasStoredValue(row: number): boolean {
    return this.narrowOf(row, TYPE) === EventType.Put && this.narrowOf(row, VALUE_LENGTH) > 0;
  }

  /** The bytes the row's record takes in a snapshot (snapshotRecordBytes of its record). */
  snapshotBytes(row: number): number {
    return snapshotBytesOf(
      this.wideOf(row, MAIN),
      this.narrowOf(row, SUB),
      this.narrowOf(row, TYPE),
      this.keys[row]!.length,
      this.narrowOf(row, VALUE_LENGTH),
      this.wideOf(row, CREATE),
      this.wideOf(row, VERSION),
      this.wideOf(row, LEASE),
    );
  }

  /**
   * Lets the row's record hold key, an equal string (the one its key's other records share),
   * so that a key loaded many times is held once. While loading only.
   */
  shareKey(row: number, key: BinaryString): void {
    assert(!this.sealed && key === this.keys[row], 'a row takes an equal key, while loading');
    this.keys[row] = key;
  }

  /** The row's record, made now (its value, if any, read from storage when asked). */
  record(row: number): RevisionRecord {
    if (!(row >= 0 && row < this.rows)) assert(false, `row ${row} of ${this.rows}`);
    const main = this.wideOf(row, MAIN);
    const sub = this.narrowOf(row, SUB);
    const key = this.keys[row]!;
    if (this.narrowOf(row, TYPE) === EventType.Delete)
      return { main, sub, type: EventType.Delete, key, value: '', createRevision: 0, version: 0, lease: 0 };
    const length = this.narrowOf(row, VALUE_LENGTH);
    const createRevision = this.wideOf(row, CREATE);
    const version = this.wideOf(row, VERSION);
    const lease = this.wideOf(row, LEASE);
    if (length === 0)
      return { main, sub, type: EventType.Put, key, value: '', createRevision, version, lease };
    return storedRecord(main, sub, key, length, createRevision, version, lease, this.values!);
  }

  /** Number `field` of the row's wide numbers. */
  private wideOf(row: number, field: number): number {
    return this.wide[row >>> CHUNK_ROWS_LOG2]![(row & IN_CHUNK) * WIDE + field]!;
  }

  /** Number `field` of the row's narrow numbers. */
  private narrowOf(row: number, field: number): number {
    return this.narrow[row >>> CHUNK_ROWS_LOG2]![(row & IN_CHUNK) * NARROW + field]!;
  }

  /**
   * Adds a record's row (a PUT's value, of valueLength bytes, stays in storage; a DELETE's
   * last four numbers are 0) and returns its number. Throws CORRUPT for a PUT with a stored
   * value when the table has no storage to read it from.
   */
  add(
    main: number,
    sub: number,
    type: EventType,
    key: BinaryString,
    valueLength: number,
    createRevision: number,
    version: number,
    lease: number,
  ): number {
    assert(!this.sealed, 'rows are added while loading only');
    if (type === EventType.Put && valueLength > 0 && this.values === undefined)
      throw corrupt(`revision ${main} keeps its values in storage, and none was given to read them from`);
    // Held in 32 bits (a damaged value must not be cut to fit).
    if (sub > NARROW_MAX || valueLength > NARROW_MAX)
      throw corrupt(`revision ${main}: sub revision ${sub} or value length ${valueLength} beyond 32 bits`);
    const row = this.rows;
    const chunk = row >>> CHUNK_ROWS_LOG2;
    if (chunk === this.wide.length) {
      this.wide.push(new Float64Array(CHUNK_ROWS * WIDE));
      this.narrow.push(new Uint32Array(CHUNK_ROWS * NARROW));
    }
    const wide = this.wide[chunk]!;
    const w = (row & IN_CHUNK) * WIDE;
    wide[w + MAIN] = main;
    wide[w + CREATE] = createRevision;
    wide[w + VERSION] = version;
    wide[w + LEASE] = lease;
    const narrow = this.narrow[chunk]!;
    const n = (row & IN_CHUNK) * NARROW;
    narrow[n + SUB] = sub;
    narrow[n + VALUE_LENGTH] = valueLength;
    narrow[n + TYPE] = type;
    this.keys.push(key);
    this.rows = row + 1;
    return row;
  }
}

/** The record a reference stands for (rows: the table its row numbers index). */
export function recordOfRef(ref: RecordRef, rows: LoadedRows | undefined): RevisionRecord {
  if (typeof ref !== 'number') return ref;
  assert(rows !== undefined, 'a row without its table');
  return rows.record(ref);
}

/** The key of the record a reference stands for, without making a record of a row. */
export function keyOfRef(ref: RecordRef, rows: LoadedRows | undefined): BinaryString {
  return typeof ref === 'number' ? rows!.key(ref) : ref.key;
}

/** The main revision of the record a reference stands for, without making a record of a row. */
export function mainOfRef(ref: RecordRef, rows: LoadedRows | undefined): number {
  return typeof ref === 'number' ? rows!.main(ref) : ref.main;
}

/** The sub revision of the record a reference stands for, without making a record of a row. */
export function subOfRef(ref: RecordRef, rows: LoadedRows | undefined): number {
  return typeof ref === 'number' ? rows!.sub(ref) : ref.sub;
}
