/**
 * CRC-32 (IEEE 802.3, the polynomial zlib and gzip use). zlib's native crc32 (Node 20.15 on)
 * when the runtime has it, since every stored record is checksummed on write and on load;
 * the table-driven TypeScript below otherwise, so older Node 20s compute the same values.
 * Used for the checksums of log entries, stored records and snapshots, and for the mvcc
 * consistency hash.
 */
import * as zlib from 'node:zlib';

const POLYNOMIAL_REVERSED = 0xedb88320;

/** One entry per byte value: the CRC of that byte alone, the usual table-driven speed-up. */
const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? POLYNOMIAL_REVERSED ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** zlib's crc32 where the runtime has it. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** The table-driven CRC-32, continuing from previous (exported for the cross-check test). */
export function crc32Portable(bytes: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The CRC-32 of bytes, continuing from a previous CRC so large inputs can be fed in pieces. */
export const crc32: (bytes: Uint8Array, previous?: number) => number = nativeCrc32
  ? (bytes, previous = 0) => nativeCrc32(bytes, previous)
  : crc32Portable;
