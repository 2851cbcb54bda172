/**
 * The layout of a snapshot as Maintenance.Snapshot streams it (and `etcdctl snapshot save`
 * writes it): the magic "CAIRNSN1", the u64 length of the state machine's snapshot, the
 * snapshot, zeros up to a multiple of 512 bytes, then the SHA-256 of all that. etcdctl 3.4
 * refuses a file whose size is not a multiple of 512 plus the 32-byte digest (bbolt files are
 * page-aligned), and the digest makes a saved file self-checking, as etcd's is.
 */
import { createHash } from 'node:crypto';
import { CairnError, ErrorCode } from '../common/errors.js';
import { concatBytes, type LazyBytes } from '../common/lazy-bytes.js';

const MAGIC = new TextEncoder().encode('CAIRNSN1');
const HEADER_BYTES = 16;
/** The alignment etcdctl checks (its hasChecksum: size % 512 == 32). */
export const SNAPSHOT_FILE_ALIGN_BYTES = 512;
/** Bytes of the trailing SHA-256. */
export const SNAPSHOT_DIGEST_BYTES = 32;

/** The file body (without the digest, which the stream computes as it sends): header, snapshot, padding. */
export function snapshotFileBody(snapshot: LazyBytes): LazyBytes {
  const unpadded = HEADER_BYTES + snapshot.byteLength;
  const size = Math.ceil(unpadded / SNAPSHOT_FILE_ALIGN_BYTES) * SNAPSHOT_FILE_ALIGN_BYTES;
  const header = new Uint8Array(HEADER_BYTES);
  header.set(MAGIC, 0);
  const view = new DataView(header.buffer);
  view.setUint32(8, Math.floor(snapshot.byteLength / 2 ** 32));
  view.setUint32(12, snapshot.byteLength % 2 ** 32);
  return concatBytes(header, snapshot, new Uint8Array(size - unpadded));
}

/** Checks a saved file (digest, magic, length) and gives back the state machine's snapshot in it. */
export function readSnapshotFile(file: Uint8Array): Uint8Array {
  const corrupt = (why: string) => new CairnError(ErrorCode.CORRUPT, `snapshot file ${why}`);
  if (file.byteLength < HEADER_BYTES + SNAPSHOT_DIGEST_BYTES) throw corrupt('is too short');
  const body = file.subarray(0, file.byteLength - SNAPSHOT_DIGEST_BYTES);
  const digest = createHash('sha256').update(body).digest();
  if (Buffer.compare(digest, file.subarray(body.byteLength)) !== 0) throw corrupt('fails its SHA-256');
  if (!MAGIC.every((b, i) => body[i] === b)) throw corrupt('is not a Cairn snapshot');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const length = view.getUint32(8) * 2 ** 32 + view.getUint32(12);
  if (HEADER_BYTES + length > body.byteLength) throw corrupt('is truncated');
  return body.subarray(HEADER_BYTES, HEADER_BYTES + length);
}
