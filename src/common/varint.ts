/**
 * The size of an unsigned LEB128 varint (protobuf's and the mvcc layouts' alike: 7 bits a
 * byte, low bits first), for the encoders that size their buffers before they write.
 */

/** Bytes of the varint of n, a non-negative integer (exact for every safe integer). */
export function uvarintBytes(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let bytes = 4;
  for (let rest = Math.floor(n / 0x10000000); rest > 0; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}
