/**
 * CRC-32 (IEEE 802.3, the polynomial zlib and gzip use). zlib's native crc32 (Node 20.15 on)
 * when the runtime has it, since every stored record is checksummed on write and on load and
 * zlib's is the quickest on such small inputs; @node-rs/crc32's otherwise, so older Node 20s
 * compute the same values. Used for the checksums of log entries, stored records and
 * snapshots, and for the mvcc consistency hash.
 */
import * as zlib from 'node:zlib';
import { crc32 as libraryCrc32 } from '@node-rs/crc32';

/** zlib's crc32 where the runtime has it. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** The library's CRC-32, continuing from previous (exported for the cross-check test). */
export function crc32Portable(bytes: Uint8Array, previous = 0): number {
  return bytes.length === 0 ? previous : libraryCrc32(bytes, previous);
}

/** The CRC-32 of bytes, continuing from a previous CRC so large inputs can be fed in pieces. */
export const crc32: (bytes: Uint8Array, previous?: number) => number = nativeCrc32
  ? (bytes, previous = 0) => nativeCrc32(bytes, previous)
  : crc32Portable;
