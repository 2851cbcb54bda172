/**
 * CRC-32 (IEEE 802.3, the polynomial zlib and gzip use), computed in plain TypeScript so it
 * behaves the same on every Node version Cairn supports. Used for checksums of snapshots and
 * for the mvcc consistency hash.
 */

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

/** The CRC-32 of bytes, continuing from a previous CRC so large inputs can be fed in pieces. */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
