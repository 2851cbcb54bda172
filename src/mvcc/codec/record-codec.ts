/**
 * The persistent form of the store, for storage/ and for snapshots: each revision's records
 * as one value, plus one small meta value. Revision value: u8 format version, varint record
 * count, then each record as varint sub and its record body. Record body: u8 format version,
 * u8 event type, key; a PUT adds value, create revision, version and lease (the mod revision
 * is the key's main). Meta: u8 format version, current and compacted revision. Folders
 * written before revision values kept one value per record under a record key: main as 8
 * bytes and sub as 4 bytes, big-endian (so LevelDB's byte order is revision order); those
 * are still read (decodeRecordKey, decodeRecord).
 */
import { assert } from '../../common/assert.js';
import { binaryOf } from '../binary-string.js';
import type { MvccMeta } from '../persistence.js';
import { SlabRecord, type SlabWriter, valueLengthOf } from '../slab-record.js';
import { EventType, type Revision, type RevisionRecord } from '../types.js';
import { ByteReader, ByteWriter, corrupt, uvarintBytes } from './bytes.js';
import { recordBodyBytes } from './record-size.js';

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

const REVISION_FORMAT_VERSION = 1;

/** The value that holds a revision's records (all of one main, in sub order, at least one). */
export function encodeRevisionValue(records: readonly RevisionRecord[]): Uint8Array {
  assert(records.length > 0, 'a revision value holds at least one record');
  let bytes = 1 + uvarintBytes(records.length);
  for (const record of records) bytes += uvarintBytes(record.sub) + recordBodyBytes(record);
  const w = new ByteWriter(bytes);
  w.u8(REVISION_FORMAT_VERSION);
  w.uvarint(records.length, 'record count');
  const main = records[0]!.main;
  let sub = -1;
  for (const record of records) {
    assert(record.main === main && record.sub > sub, 'a revision value holds one revision, in sub order');
    sub = record.sub;
    w.uvarint(record.sub, 'sub revision');
    writeRecordBody(w, record);
  }
  assert(w.byteLength === bytes, () => `revision value of ${w.byteLength} bytes, sized ${bytes}`);
  return w.finish();
}

/**
 * The records of revision main from its revision value, in sub order; with slabs, the values
 * of PUT records are copied into them (see slab-record.ts) instead of becoming strings.
 */
export function decodeRevisionValue(main: number, value: Uint8Array, slabs?: SlabWriter): RevisionRecord[] {
  const r = new ByteReader(value);
  const version = r.u8();
  if (version !== REVISION_FORMAT_VERSION) throw corrupt(`unknown revision value format ${version}`);
  const count = r.uvarint();
  if (count === 0) throw corrupt(`revision ${main} stored without records`);
  const records: RevisionRecord[] = [];
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const sub = r.uvarint();
    if (sub <= previous) throw corrupt(`revision ${main}: sub revision ${sub} after ${previous}`);
    previous = sub;
    records.push(readRecordBody(r, { main, sub }, slabs));
  }
  if (!r.done) throw corrupt(`trailing bytes after the records of revision ${main}`);
  return records;
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
