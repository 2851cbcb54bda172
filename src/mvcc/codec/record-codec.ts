/**
 * The persistent form of the store, for storage/ and for snapshots: each revision's records
 * as one value without their values, each PUT's value (unless empty) as a value of its own
 * under its record key (main as 8 bytes and sub as 4, big-endian), and one small meta value.
 * Start-up reads the revision values only (stored-values.ts says why). Revision value: u8
 * format version (2), varint record count, then each record as varint sub, u8 event type and
 * key; a PUT adds its value's length, create revision, version and lease (the mod revision is
 * the key's main). Revision values of format 1 (data format 3) hold each record's body
 * (writeRecordBody) instead, value included; they are still read. Record body (snapshots):
 * u8 format version, u8 event type, key; a PUT adds value, create revision, version and
 * lease. Meta: u8 format version, current and compacted revision. Folders written before
 * revision values kept one value per record under its record key; those are still read
 * (decodeRecordKey, decodeRecord).
 */
import { assert } from '../../common/assert.js';
import { binaryOf, bytesOf } from '../binary-string.js';
import { LoadedRows, type RecordRef, recordOfRef } from '../loaded-rows.js';
import type { MvccMeta } from '../persistence.js';
import { hasStoredValue, SlabRecord, type SlabWriter, valueHeld, valueLengthOf } from '../slab-record.js';
import type { StoredValues } from '../stored-values.js';
import { EventType, type Revision, type RevisionRecord } from '../types.js';
import { ByteReader, ByteWriter, corrupt, svarintBytes, uvarintBytes } from './bytes.js';

const FORMAT_VERSION = 1;
const SUB_LIMIT = 2 ** 32;

/** Length of every record key. */
export const RECORD_KEY_BYTES = 12;

/** The record key of a revision (sorts bytewise in revision order). */
export function encodeRecordKey(revision: Revision): Uint8Array {
  if (revision.sub >= SUB_LIMIT) throw corrupt(`sub revision ${revision.sub} too large`);
  const w = new ByteWriter(RECORD_KEY_BYTES);
  w.u64be(revision.main);
  w.u32be(revision.sub);
  return w.finish();
}

/** The revision a record key names. */
export function decodeRecordKey(key: Uint8Array): Revision {
  if (key.length !== RECORD_KEY_BYTES) throw corrupt(`record key of ${key.length} bytes`);
  const r = new ByteReader(key);
  return { main: r.u64be(), sub: r.u32be() };
}

/** The record value of a change. */
export function encodeRecordValue(record: RevisionRecord): Uint8Array {
  const w = new ByteWriter(16 + record.key.length + valueLengthOf(record));
  writeRecordBody(w, record);
  return w.finish();
}

/** Rebuilds a record from its key and value. */
export function decodeRecord(key: Uint8Array, value: Uint8Array): RevisionRecord {
  const revision = decodeRecordKey(key);
  const r = new ByteReader(value);
  const record = readRecordBody(r, revision);
  if (!r.done) throw corrupt('trailing bytes after record');
  return record;
}

/** Revision values that hold each record's body, value included (data format 3). */
const REVISION_FORMAT_INLINE = 1;
/** Revision values whose PUTs name their value's length; the values lie under their record keys. */
const REVISION_FORMAT_INDEX = 2;

/** The bytes a record takes in a revision value of format 2 after its sub. */
function indexBodyBytes(record: RevisionRecord): number {
  const key = record.key.length;
  const head = 1 + uvarintBytes(key) + key;
  if (record.type === EventType.Delete) return head;
  return (
    head +
    uvarintBytes(valueLengthOf(record)) +
    svarintBytes(record.createRevision) +
    svarintBytes(record.version) +
    svarintBytes(record.lease)
  );
}

/**
 * The value that holds a revision's records (all of one main, in sub order, at least one),
 * without their values: those go under their record keys (valuesToStore).
 */
export function encodeRevisionValue(records: readonly RevisionRecord[]): Uint8Array {
  assert(records.length > 0, 'a revision value holds at least one record');
  let bytes = 1 + uvarintBytes(records.length);
  for (const record of records) bytes += uvarintBytes(record.sub) + indexBodyBytes(record);
  const w = new ByteWriter(bytes);
  w.u8(REVISION_FORMAT_INDEX);
  w.uvarint(records.length, 'record count');
  const main = records[0]!.main;
  let sub = -1;
  for (const record of records) {
    assert(record.main === main && record.sub > sub, 'a revision value holds one revision, in sub order');
    sub = record.sub;
    w.uvarint(record.sub, 'sub revision');
    w.u8(record.type);
    w.binary(record.key);
    if (record.type === EventType.Delete) continue;
    w.uvarint(valueLengthOf(record), 'value length');
    w.svarint(record.createRevision, 'createRevision');
    w.svarint(record.version, 'version');
    w.svarint(record.lease, 'lease');
  }
  assert(w.byteLength === bytes, () => `revision value of ${w.byteLength} bytes, sized ${bytes}`);
  return w.finish();
}

/**
 * The values to store beside a revision value, under their record keys: every non-empty PUT
 * value held in memory, or with `all` every one (storage read back those it holds: a store
 * written anew, whose old values are cleared first).
 */
export function* valuesToStore(
  records: readonly RevisionRecord[],
  all: boolean,
): Generator<[key: Uint8Array, value: Uint8Array]> {
  for (const record of records) {
    if (!hasStoredValue(record) || (!all && !valueHeld(record))) continue;
    const value = record instanceof SlabRecord ? record.valueView() : bytesOf(record.value);
    yield [encodeRecordKey(record), value];
  }
}

/** The record keys of the stored values of a revision's dropped records (subs of non-empty PUTs). */
export function storedValueKeys(main: number, subs: Iterable<number>): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const sub of subs) keys.push(encodeRecordKey({ main, sub }));
  return keys;
}

/**
 * The records of revision main from its revision value, in sub order. Format 2 leaves each
 * PUT's value in storage (values: read when asked); format 1 holds them, and with slabs they
 * are copied into those (see slab-record.ts) instead of becoming strings. The records are
 * those decodeRevisionRows gives, made from their rows.
 */
export function decodeRevisionValue(
  main: number,
  value: Uint8Array,
  slabs?: SlabWriter,
  values?: StoredValues,
): RevisionRecord[] {
  const rows = new LoadedRows(values);
  const refs: RecordRef[] = [];
  decodeRevisionRows(main, value, rows, refs, slabs);
  return refs.map((ref) => recordOfRef(ref, rows));
}

/**
 * decodeRevisionValue for a store's load: appends the revision's records to out, those of
 * format 2 as rows of `rows` (loaded-rows.ts: no object per record), those of format 1 as
 * records with their values in slabs.
 */
export function decodeRevisionRows(
  main: number,
  value: Uint8Array,
  rows: LoadedRows,
  out: RecordRef[],
  slabs?: SlabWriter,
): void {
  const r = new ByteReader(value);
  const version = r.u8();
  if (version !== REVISION_FORMAT_INLINE && version !== REVISION_FORMAT_INDEX)
    throw corrupt(`unknown revision value format ${version}`);
  const count = r.uvarint();
  if (count === 0) throw corrupt(`revision ${main} stored without records`);
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const sub = r.uvarint();
    if (sub <= previous) throw corrupt(`revision ${main}: sub revision ${sub} after ${previous}`);
    previous = sub;
    if (version === REVISION_FORMAT_INLINE) {
      out.push(readRecordBody(r, { main, sub }, slabs));
      continue;
    }
    const type = r.u8();
    const key = r.binary();
    if (type === EventType.Delete) {
      out.push(rows.add(main, sub, type, key, 0, 0, 0, 0));
      continue;
    }
    if (type !== EventType.Put) throw corrupt(`unknown event type ${type}`);
    const length = r.uvarint();
    const createRevision = r.svarint();
    const kvVersion = r.svarint();
    const lease = r.svarint();
    out.push(rows.add(main, sub, type, key, length, createRevision, kvVersion, lease));
  }
  if (!r.done) throw corrupt(`trailing bytes after the records of revision ${main}`);
}

/** Writes a record value into a larger layout (snapshots). */
export function writeRecordBody(w: ByteWriter, record: RevisionRecord): void {
  w.u8(FORMAT_VERSION);
  w.u8(record.type);
  w.binary(record.key);
  if (record.type === EventType.Delete) return;
  if (record instanceof SlabRecord) w.bytes(record.valueView());
  else w.binary(record.value);
  w.svarint(record.createRevision, 'createRevision');
  w.svarint(record.version, 'version');
  w.svarint(record.lease, 'lease');
}

/**
 * Reads a record value written by writeRecordBody, for the revision stored beside it; with
 * slabs, a PUT's value is copied into them (see slab-record.ts).
 */
export function readRecordBody(r: ByteReader, revision: Revision, slabs?: SlabWriter): RevisionRecord {
  const version = r.u8();
  if (version !== FORMAT_VERSION) throw corrupt(`unknown record format ${version}`);
  const type = r.u8();
  const key = r.binary();
  const { main, sub } = revision;
  if (type === EventType.Delete)
    return { main, sub, type, key, value: '', createRevision: 0, version: 0, lease: 0 };
  if (type !== EventType.Put) throw corrupt(`unknown event type ${type}`);
  const length = r.skipBytes();
  const start = r.position - length;
  const createRevision = r.svarint();
  const kvVersion = r.svarint();
  const lease = r.svarint();
  if (slabs !== undefined)
    return slabs.put(main, sub, key, r.buffer, start, length, createRevision, kvVersion, lease);
  const value = binaryOf(r.buffer, start, start + length);
  return { main, sub, type, key, value, createRevision, version: kvVersion, lease };
}

/** The meta value. */
export function encodeMeta(meta: MvccMeta): Uint8Array {
  const w = new ByteWriter(16);
  w.u8(FORMAT_VERSION);
  w.uvarint(meta.currentRevision, 'currentRevision');
  w.uvarint(meta.compactedRevision, 'compactedRevision');
  return w.finish();
}

/** Reads the meta value. */
export function decodeMeta(bytes: Uint8Array): MvccMeta {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== FORMAT_VERSION) throw corrupt(`unknown meta format ${version}`);
  const meta = { currentRevision: r.uvarint(), compactedRevision: r.uvarint() };
  if (!r.done) throw corrupt('trailing bytes after meta');
  return meta;
}
