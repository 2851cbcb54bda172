/**
 * Checksummed framing of the records the raft log's codec does not cover: the state
 * machine's data and its applied index. A record is the crc32 of its key and payload, then
 * the payload; covering the key catches a value that landed under the wrong key, not only a
 * flipped bit. LevelDB checks its own blocks only when asked and not across every path, so
 * without this a silently damaged table could be served as data that differs from the cluster's.
 */
import { crc32 } from '../common/crc32.js';
import { CairnError, ErrorCode } from '../common/errors.js';

const CRC_BYTES = 4;

/** A printable form of a stored key for error messages (bounded). */
function describeKey(key: Uint8Array): string {
  const text = Buffer.from(key.subarray(0, 64)).toString('latin1');
  const printable = /^[\x20-\x7e]*$/.test(text)
    ? JSON.stringify(text)
    : `0x${Buffer.from(key.subarray(0, 32)).toString('hex')}`;
  return key.byteLength > 64 ? `${printable}…` : printable;
}

/**
 * Frames payload for storage under key (the full LevelDB key, prefix included). The bytes come
 * from Node's shared pool (every one is written; LevelDB copies them into its batch), not an
 * allocation off the V8 heap per record.
 */
export function sealRecord(key: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(CRC_BYTES + payload.byteLength);
  out.set(payload, CRC_BYTES);
  out.writeUInt32BE(crc32(payload, crc32(key)), 0);
  return out;
}

/** The payload of a record stored under key; throws CORRUPT naming the key when it fails its checksum. */
export function openRecord(key: Uint8Array, stored: Uint8Array): Uint8Array {
  if (stored.byteLength < CRC_BYTES)
    throw new CairnError(ErrorCode.CORRUPT, `the stored record ${describeKey(key)} is truncated`);
  const payload = stored.subarray(CRC_BYTES);
  const expected = new DataView(stored.buffer, stored.byteOffset, CRC_BYTES).getUint32(0);
  if (crc32(payload, crc32(key)) !== expected)
    throw new CairnError(ErrorCode.CORRUPT, `the stored record ${describeKey(key)} fails its checksum`);
  return payload;
}
