/**
 * Pieces of LevelDB's on-disk formats that the table check and the manifest reader share:
 * varints, length-prefixed byte strings and LevelDB's masked CRC-32C.
 */
import { crc32c } from '@node-rs/crc32';

/** LevelDB stores a CRC rotated and offset by this, so that a CRC of data holding CRCs stays strong. */
const MASK_DELTA = 0xa282ead8;

/** Damage found while reading one of LevelDB's files. */
export class LevelFormatDamage extends Error {}

/** A varint (or a length-prefixed slice) read from a buffer, and the position after it. */
export interface Read<T> {
  readonly value: T;
  readonly next: number;
}

/** Reads a little-endian base-128 varint that must end before `end` and fit a safe integer. */
export function readVarint(b: Uint8Array, at: number, end: number): Read<number> {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 10; i++) {
    const byte = b[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) throw new LevelFormatDamage(`a varint at byte ${at} is too large`);
      return { value, next: i + 1 };
    }
    scale *= 128;
  }
  throw new LevelFormatDamage(`a varint at byte ${at} runs past its end`);
}

/** Reads a varint length and that many bytes after it. */
export function readLengthPrefixed(b: Uint8Array, at: number, end: number): Read<Uint8Array> {
  const length = readVarint(b, at, end);
  const next = length.next + length.value;
  if (next > end) throw new LevelFormatDamage(`a string at byte ${at} runs past its end`);
  return { value: b.subarray(length.next, next), next };
}

/** Whether bytes have the masked CRC-32C LevelDB stored for them. */
export function maskedCrcMatches(bytes: Uint8Array, masked: number): boolean {
  const rotated = (masked - MASK_DELTA) >>> 0;
  return crc32c(bytes) === ((rotated >>> 17) | (rotated << 15)) >>> 0;
}
