/**
 * Checksummed binary encodings of what the raft log stores: entries (crc32, term, type,
 * data; the index is the key), the hard state and snapshot metadata. A checksum mismatch
 * means the disk returned something other than what was written.
 */

import { crc32 } from '../common/crc32.js';
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type SnapshotMetadata,
} from '../raft/index.js';

const TWO_POW_32 = 2 ** 32;
const ENTRY_HEADER_BYTES = 4 + 8 + 1;

function putU53(v: DataView, off: number, n: number): void {
  v.setUint32(off, Math.floor(n / TWO_POW_32));
  v.setUint32(off + 4, n % TWO_POW_32);
}

function getU53(v: DataView, off: number): number {
  return v.getUint32(off) * TWO_POW_32 + v.getUint32(off + 4);
}

/**
 * Layout: u32 crc32 of the rest, u64 term, u8 type, data. The bytes come from Node's shared
 * pool (every one is written): LevelDB copies them into its batch, and a fresh array of its
 * own for each entry was an allocation off the V8 heap per entry on every member.
 */
export function encodeEntry(e: Entry): Uint8Array {
  const out = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + e.data.byteLength);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  putU53(v, 4, e.term);
  v.setUint8(12, e.type);
  out.set(e.data, ENTRY_HEADER_BYTES);
  v.setUint32(0, crc32(out.subarray(4)));
  return out;
}

/** Decodes the entry stored at index; throws CORRUPT naming the index when it fails its checksum. */
export function decodeEntry(index: number, bytes: Uint8Array): Entry {
  if (bytes.byteLength < ENTRY_HEADER_BYTES) {
    throw new CairnError(
      ErrorCode.CORRUPT,
      `raft log entry ${index} is truncated (${bytes.byteLength} bytes)`,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0) !== crc32(bytes.subarray(4))) {
    throw new CairnError(ErrorCode.CORRUPT, `raft log entry ${index} fails its checksum`);
  }
  const type = v.getUint8(12);
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) {
    throw new CairnError(ErrorCode.CORRUPT, `raft log entry ${index} has unknown type ${type}`);
  }
  return { index, term: getU53(v, 4), type, data: bytes.slice(ENTRY_HEADER_BYTES) };
}

/** Layout: u32 crc32, u64 term, u64 vote, u64 commit. */
export function encodeHardState(hs: HardState): Uint8Array {
  const out = new Uint8Array(28);
  const v = new DataView(out.buffer);
  putU53(v, 4, hs.term);
  putU53(v, 12, hs.vote);
  putU53(v, 20, hs.commit);
  v.setUint32(0, crc32(out.subarray(4)));
  return out;
}

/** Decodes the hard state; throws CORRUPT on a checksum mismatch. */
export function decodeHardState(bytes: Uint8Array): HardState {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength !== 28 || v.getUint32(0) !== crc32(bytes.subarray(4))) {
    throw new CairnError(ErrorCode.CORRUPT, 'the hard state fails its checksum');
  }
  return { term: getU53(v, 4), vote: getU53(v, 12), commit: getU53(v, 20) };
}

/** Snapshot metadata plus the checksum of its data, as JSON behind a crc32. */
export function encodeSnapshotMeta(meta: SnapshotMetadata, dataCrc: number): Uint8Array {
  const body = new TextEncoder().encode(
    JSON.stringify({ index: meta.index, term: meta.term, confState: meta.confState, dataCrc }),
  );
  const out = new Uint8Array(4 + body.byteLength);
  out.set(body, 4);
  new DataView(out.buffer).setUint32(0, crc32(body));
  return out;
}

/** Decodes snapshot metadata and the crc32 its data must have; throws CORRUPT on a mismatch. */
export function decodeSnapshotMeta(bytes: Uint8Array): { meta: SnapshotMetadata; dataCrc: number } {
  const body = bytes.subarray(4);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4 || v.getUint32(0) !== crc32(body)) {
    throw new CairnError(ErrorCode.CORRUPT, 'the snapshot metadata fails its checksum');
  }
  const j = JSON.parse(new TextDecoder().decode(body)) as {
    index: number;
    term: number;
    confState: ConfState;
    dataCrc: number;
  };
  return { meta: { index: j.index, term: j.term, confState: j.confState }, dataCrc: j.dataCrc };
}
