/**
 * The persistent form of the store, for storage/ and for snapshots: one record per change,
 * keyed by its revision, plus one small meta value. Record key: main as 8 bytes and sub as 4
 * bytes, big-endian, so LevelDB's byte order is revision order. Record value: u8 format
 * version, u8 event type, key; a PUT adds value, create revision, version and lease (the
 * mod revision is the key's main). Meta: u8 format version, current and compacted revision.
 */
import type { MvccMeta } from '../persistence.js';
import { EventType, type Revision, type RevisionRecord } from '../types.js';
import { ByteReader, ByteWriter, corrupt } from './bytes.js';

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
  const w = new ByteWriter(16 + record.key.length + record.value.length);
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

/** Writes a record value into a larger layout (snapshots). */
export function writeRecordBody(w: ByteWriter, record: RevisionRecord): void {
  w.u8(FORMAT_VERSION);
  w.u8(record.type);
  w.binary(record.key);
  if (record.type === EventType.Delete) return;
  w.binary(record.value);
  w.svarint(record.createRevision, 'createRevision');
  w.svarint(record.version, 'version');
  w.svarint(record.lease, 'lease');
}

/** Reads a record value written by writeRecordBody, for the revision stored beside it. */
export function readRecordBody(r: ByteReader, revision: Revision): RevisionRecord {
  const version = r.u8();
  if (version !== FORMAT_VERSION) throw corrupt(`unknown record format ${version}`);
  const type = r.u8();
  const key = r.binary();
  const { main, sub } = revision;
  if (type === EventType.Delete)
    return { main, sub, type, key, value: '', createRevision: 0, version: 0, lease: 0 };
  if (type !== EventType.Put) throw corrupt(`unknown event type ${type}`);
  const value = r.binary();
  const createRevision = r.svarint();
  const kvVersion = r.svarint();
  const lease = r.svarint();
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
