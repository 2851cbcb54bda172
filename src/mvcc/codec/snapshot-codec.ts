/**
 * The whole store as one byte string (a raft snapshot's data). Layout: the magic "CRNS",
 * u8 format version, varints applied raft index, current revision, compacted revision and
 * record count, then each record as varint main, varint sub and its record value body
 * (record-codec), then (format 2) varint lease count and each lease as varint id and varint
 * TTL in seconds, and last a big-endian CRC-32 of everything before it.
 */
import { crc32 } from '../../common/crc32.js';
import type { LazyBytes } from '../../common/lazy-bytes.js';
import type { LeaseRecord } from '../lease-table.js';
import type { MvccMeta, PersistedMvcc } from '../persistence.js';
import { SlabWriter } from '../slab-record.js';
import type { RevisionRecord } from '../types.js';
import { ByteReader, ByteWriter, corrupt, uvarintBytes } from './bytes.js';
import { readRecordBody, writeRecordBody } from './record-codec.js';

const MAGIC = Uint8Array.from([0x43, 0x52, 0x4e, 0x53]); // "CRNS"
const FORMAT_VERSION = 2;
const CRC_BYTES = 4;

/** A decoded snapshot: the raft index it was taken at and the store's persisted form. */
export interface DecodedSnapshot extends PersistedMvcc {
  readonly appliedIndex: number;
  readonly records: readonly RevisionRecord[];
  readonly leases: readonly LeaseRecord[];
}

/** Bytes of snapshot data per piece the encoder makes. */
export const SNAPSHOT_PIECE_BYTES = 1024 * 1024;

/** What a snapshot holds: a view of the store fixed when the snapshot was taken. */
export interface SnapshotContents {
  readonly appliedIndex: number;
  readonly meta: MvccMeta;
  /** The records in revision order; every call gives the same ones. */
  readonly records: () => Iterable<RevisionRecord>;
  readonly recordCount: number;
  /** The bytes the records take (snapshotRecordBytes summed), so the length is known without a pass over them. */
  readonly recordBytes: number;
  readonly leases: readonly LeaseRecord[];
}

/**
 * Encodes a snapshot lazily: its length is known at once (the store keeps its records' sizes
 * summed), and the bytes are made a piece of about pieceBytes at a time as they are read, so
 * a store of any size is never held twice in memory, nor encoded in one go. A reader checks
 * the bytes made against the length announced (common/lazy-bytes.ts).
 */
export function encodeSnapshot(contents: SnapshotContents, pieceBytes = SNAPSHOT_PIECE_BYTES): LazyBytes {
  const { appliedIndex, meta, recordCount, leases } = contents;
  let byteLength =
    MAGIC.length +
    1 +
    uvarintBytes(appliedIndex) +
    uvarintBytes(meta.currentRevision) +
    uvarintBytes(meta.compactedRevision) +
    uvarintBytes(recordCount) +
    contents.recordBytes;
  byteLength += uvarintBytes(leases.length);
  for (const lease of leases) byteLength += uvarintBytes(lease.id) + uvarintBytes(lease.ttlSeconds);
  byteLength += CRC_BYTES;
  return { byteLength, pieces: () => snapshotPieces(contents, pieceBytes) };
}

function* snapshotPieces(contents: SnapshotContents, pieceBytes: number): Generator<Uint8Array> {
  const { appliedIndex, meta, recordCount, leases } = contents;
  let crc = 0;
  const w = new ByteWriter(pieceBytes + 1024);
  const piece = (): Uint8Array => {
    const out = w.take();
    crc = crc32(out, crc);
    return out;
  };
  w.raw(MAGIC);
  w.u8(FORMAT_VERSION);
  w.uvarint(appliedIndex, 'appliedIndex');
  w.uvarint(meta.currentRevision, 'currentRevision');
  w.uvarint(meta.compactedRevision, 'compactedRevision');
  w.uvarint(recordCount, 'recordCount');
  let written = 0;
  for (const record of contents.records()) {
    w.uvarint(record.main);
    w.uvarint(record.sub);
    writeRecordBody(w, record);
    written++;
    if (w.byteLength >= pieceBytes) yield piece();
  }
  if (written !== recordCount) throw corrupt(`snapshot of ${written} records, announced ${recordCount}`);
  w.uvarint(leases.length);
  for (const lease of leases) {
    w.uvarint(lease.id, 'lease id');
    w.uvarint(lease.ttlSeconds, 'lease ttl');
  }
  const last = piece();
  const out = new Uint8Array(last.byteLength + CRC_BYTES);
  out.set(last);
  new DataView(out.buffer).setUint32(last.byteLength, crc);
  yield out;
}

/** Decodes and checks a snapshot; throws CORRUPT if its checksum or layout is wrong. */
export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  if (bytes.length < MAGIC.length + 1 + CRC_BYTES) throw corrupt('snapshot too short');
  const bodyLength = bytes.length - CRC_BYTES;
  const body = bytes.subarray(0, bodyLength);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bodyLength, CRC_BYTES).getUint32(0);
  if (crc32(body) !== stored) throw corrupt('snapshot checksum mismatch');
  const r = new ByteReader(body);
  const magic = r.raw(MAGIC.length);
  if (!magic.every((b, i) => b === MAGIC[i])) throw corrupt('not an mvcc snapshot');
  const version = r.u8();
  if (version !== 1 && version !== FORMAT_VERSION) throw corrupt(`unknown snapshot format ${version}`);
  const appliedIndex = r.uvarint();
  const meta = { currentRevision: r.uvarint(), compactedRevision: r.uvarint() };
  const count = r.uvarint();
  const records: RevisionRecord[] = [];
  // Values go into slabs: a snapshot of a large store would otherwise become one string per value.
  const slabs = new SlabWriter();
  for (let i = 0; i < count; i++) {
    const main = r.uvarint();
    const sub = r.uvarint();
    records.push(readRecordBody(r, { main, sub }, slabs));
  }
  const leases: LeaseRecord[] = [];
  if (version >= 2) {
    const leaseCount = r.uvarint();
    for (let i = 0; i < leaseCount; i++) leases.push({ id: r.uvarint(), ttlSeconds: r.uvarint() });
  }
  if (!r.done) throw corrupt('trailing bytes after snapshot records');
  return { appliedIndex, meta, records, leases };
}
