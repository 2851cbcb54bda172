/**
 * PUT records keep their values outside the V8 heap, in slabs: records read from disk or a
 * snapshot and records the store's writes make alike. A value as a string of its own was
 * copied twice by the young-generation collector on its way to the old generation (at a
 * million 256-byte values the strings were half of the heap), and the old generation, which
 * V8 lets grow to a multiple of what it holds live, paid for the store's whole history once
 * more in garbage between mark-compacts. A SlabRecord instead holds where its value lies in a
 * ValueSlab (a large byte array filled in order), and builds the string only when read.
 *
 * A slab stays in memory while any record in it does. So that a few long-lived values do not
 * pin slabs that compaction has mostly emptied, a slab whose live bytes fall below a quarter
 * of what it holds gives every record still in it a string of its own, and lets go of them.
 *
 * A record loaded from disk holds no value at all: the same class, with storage in place of
 * a slab, reads it from there when asked (stored-values.ts).
 */
import { assert } from '../common/assert.js';
import { type BinaryString, binaryOf, bytesOf } from './binary-string.js';
import { corrupt } from './codec/bytes.js';
import type { PinnedValues, StoredValues } from './stored-values.js';
import { EMPTY_BYTES, EventType, type KeyValue, type RevisionRecord } from './types.js';

/** Bytes of one slab. */
export const SLAB_BYTES = 256 * 1024;
/** Larger values are held as strings (each would take a good part of a slab). */
export const SLAB_VALUE_BYTES_MAX = 4 * 1024;
/** A slab hands its records strings of their own when its live bytes fall below 1/this of its used bytes. */
const SLAB_SPARSE_RATIO = 4;

/** A byte array that holds the values of many records. */
class ValueSlab {
  readonly bytes = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Bytes filled so far. */
  used = 0;
  /** Invariant: the lengths of the values of the records in `records` not yet released. */
  liveBytes = 0;
  /** The records whose values lie here; emptied once they have strings of their own. */
  records: SlabRecord[] = [];

  /**
   * Whether its records were handed strings of their own: no writer fills it any more. A slab
   * lists a record from the moment it is made, so only retirement leaves the list empty.
   */
  get retired(): boolean {
    return this.records.length === 0;
  }

  /** Called when one of its records is dropped: hands the others strings once few bytes are live. */
  released(length: number): void {
    this.liveBytes -= length;
    assert(this.liveBytes >= 0, 'a slab released more bytes than it holds');
    if (this.retired || this.liveBytes * SLAB_SPARSE_RATIO >= this.used) return;
    for (const r of this.records) r.ownValue();
    this.records = [];
    this.liveBytes = 0;
  }
}

/**
 * A stored value read back (a fresh array: storage's own, seen as a plain Uint8Array as every
 * value readers get is), checked against the length its record was loaded with.
 */
function readStored(
  values: StoredValues | PinnedValues,
  main: number,
  sub: number,
  length: number,
): Uint8Array {
  const bytes = values.read(main, sub);
  if (bytes.byteLength !== length)
    throw corrupt(`the stored value of (${main}, ${sub}) holds ${bytes.byteLength} bytes, not ${length}`);
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A PUT record whose value lies in a slab (until compaction leaves the slab sparse: see above)
 * or in storage. Nine fields, a million of which a store of a million keys holds: its type is
 * the class's, and whether it was released is the sign of its length.
 */
export class SlabRecord implements RevisionRecord {
  #key: BinaryString;
  /**
   * The slab the value lies in, the value itself once the record has a string of its own, or
   * the storage it is read from (a record loaded from disk).
   */
  #store: ValueSlab | BinaryString | StoredValues;
  #start: number;
  /** The value's length in bytes; ~length (negative) once the record is released. */
  #length: number;

  constructor(
    readonly main: number,
    readonly sub: number,
    key: BinaryString,
    slab: ValueSlab | StoredValues,
    start: number,
    length: number,
    readonly createRevision: number,
    readonly version: number,
    readonly lease: number,
  ) {
    this.#key = key;
    this.#store = slab;
    this.#start = start;
    this.#length = length;
  }

  /** A PUT. */
  get type(): EventType.Put {
    return EventType.Put;
  }

  /** The key. */
  get key(): BinaryString {
    return this.#key;
  }

  /** The value, as a string built now (unless the record has one of its own). */
  get value(): BinaryString {
    const store = this.#store;
    if (typeof store === 'string') return store;
    if (store instanceof ValueSlab) return binaryOf(store.bytes, this.#start, this.#start + this.valueLength);
    return binaryOf(readStored(store, this.main, this.sub, this.valueLength));
  }

  /** The value's length in bytes, without building it. */
  get valueLength(): number {
    return this.#length < 0 ? ~this.#length : this.#length;
  }

  /** Whether the value still lies in a slab (false once the record has a string of its own, or in storage). */
  get inSlab(): boolean {
    return this.#store instanceof ValueSlab;
  }

  /** Whether the value is read from storage (a record loaded from disk): not held in memory. */
  get inStorage(): boolean {
    const store = this.#store;
    return typeof store !== 'string' && !(store instanceof ValueSlab);
  }

  /** The value's bytes, in a new array. */
  valueBytes(): Uint8Array {
    const store = this.#store;
    if (typeof store === 'string') return bytesOf(store);
    if (!(store instanceof ValueSlab)) return readStored(store, this.main, this.sub, this.valueLength);
    const out = new Uint8Array(this.valueLength);
    out.set(this.valueView());
    return out;
  }

  /** The value's bytes, to be copied at once (a view of the slab while the value lies there). */
  valueView(): Uint8Array {
    const store = this.#store;
    if (typeof store === 'string') return bytesOf(store);
    if (!(store instanceof ValueSlab)) return readStored(store, this.main, this.sub, this.valueLength);
    return store.bytes.subarray(this.#start, this.#start + this.valueLength);
  }

  /**
   * The record with its value read from storage now (from a pinned view when given one), as a
   * plain record: for a frozen history, whose records compaction may have dropped from storage
   * since, and for an event read after the write that made it. The record itself when its
   * value is held in memory.
   */
  withValueRead(pinned?: PinnedValues): RevisionRecord {
    const store = this.#store;
    if (typeof store === 'string' || store instanceof ValueSlab) return this;
    const { main, sub, createRevision, version, lease } = this;
    const value = binaryOf(readStored(pinned ?? store, main, sub, this.valueLength));
    return { main, sub, type: EventType.Put, key: this.#key, value, createRevision, version, lease };
  }

  /**
   * Takes an equal key string (the one the key's other records share), so that a key loaded
   * many times is held once. Only while loading, before anything else sees the record.
   */
  shareKey(key: BinaryString): void {
    assert(key === this.#key, 'a record can only take an equal key');
    this.#key = key;
  }

  /** The store dropped this record (compaction): its bytes no longer count as live in its slab. */
  release(): void {
    const length = this.#length;
    assert(length >= 0, 'a slab record released twice');
    this.#length = ~length;
    const store = this.#store;
    if (store instanceof ValueSlab) store.released(length);
  }

  /** Gives the record a string of its own and lets go of its slab (unless released: nothing reads those but old views). */
  ownValue(): void {
    if (this.#length < 0 || !(this.#store instanceof ValueSlab)) return;
    this.#store = this.value;
  }
}

/** The record of a PUT loaded from disk whose value of length (> 0) bytes stays in storage, read when asked. */
export function storedRecord(
  main: number,
  sub: number,
  key: BinaryString,
  length: number,
  createRevision: number,
  version: number,
  lease: number,
  values: StoredValues,
): SlabRecord {
  assert(length > 0, 'storage holds no empty value');
  return new SlabRecord(main, sub, key, values, 0, length, createRevision, version, lease);
}

/** Whether storage keeps a value of the record's own (stored-values.ts): a PUT with a non-empty value. */
export function hasStoredValue(record: RevisionRecord): boolean {
  return record.type === EventType.Put && valueLengthOf(record) > 0;
}

/** Whether a record's value is held in memory (not only in storage: see stored-values.ts). */
export function valueHeld(record: RevisionRecord): boolean {
  return !(record instanceof SlabRecord && record.inStorage);
}

/** Copies values into slabs, filling one at a time: one per load, and one per store for its writes. */
export class SlabWriter {
  private slab: ValueSlab | undefined;

  /**
   * The record of a PUT whose value is bytes [start, start + length) of src: a SlabRecord
   * with the value copied into a slab, or a plain record for an empty or large value.
   */
  put(
    main: number,
    sub: number,
    key: BinaryString,
    src: Uint8Array,
    start: number,
    length: number,
    createRevision: number,
    version: number,
    lease: number,
  ): RevisionRecord {
    if (length === 0 || length > SLAB_VALUE_BYTES_MAX) {
      const value = binaryOf(src, start, start + length);
      return { main, sub, type: EventType.Put, key, value, createRevision, version, lease };
    }
    let slab = this.slab;
    // The store's writer may be filling a slab when compaction retires it: a record put there
    // would pin the slab's dead bytes, and its value would be counted among them.
    if (slab === undefined || slab.retired || slab.used + length > SLAB_BYTES) {
      slab = new ValueSlab();
      this.slab = slab;
    }
    slab.bytes.set(src.subarray(start, start + length), slab.used);
    const record = new SlabRecord(main, sub, key, slab, slab.used, length, createRevision, version, lease);
    slab.used += length;
    slab.liveBytes += length;
    slab.records.push(record);
    return record;
  }
}

/** A record's value length in bytes, without building a slab record's string. */
export function valueLengthOf(record: RevisionRecord): number {
  return record instanceof SlabRecord ? record.valueLength : record.value.length;
}

/** A record's value as bytes, in a new array (empty values share EMPTY_BYTES). */
export function valueBytesOf(record: RevisionRecord): Uint8Array {
  if (record instanceof SlabRecord) return record.valueBytes();
  return record.value === '' ? EMPTY_BYTES : bytesOf(record.value);
}

/** The KeyValue a record stands for, with fresh byte arrays. */
export function kvOf(record: RevisionRecord, withValue = true): KeyValue {
  return {
    key: bytesOf(record.key),
    createRevision: record.createRevision,
    modRevision: record.main,
    version: record.version,
    value: withValue ? valueBytesOf(record) : EMPTY_BYTES,
    lease: record.lease,
  };
}
