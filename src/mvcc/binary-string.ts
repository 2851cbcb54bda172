/**
 * Binary strings: byte strings held as JavaScript strings of one char per byte (latin1).
 * The store keeps every key and value in this form. V8 stores such a string as one object
 * of about 16 bytes plus its length; a Uint8Array of its own costs a typed array, an
 * ArrayBuffer and a backing store besides (about 400 bytes more for a 256-byte value, so
 * a million keys took some 700 MB more). They compare bytewise with < and >, which is also
 * several times faster than Buffer.compare on short keys. Readers get Uint8Arrays back
 * (bytesOf) built when they read.
 */

/** A byte string as one char per byte (latin1); its < order is bytewise order. */
export type BinaryString = string;

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;
const latin1Write = Buffer.prototype.latin1Write as (
  this: Uint8Array,
  s: string,
  offset: number,
  length: number,
) => number;

/** The binary string of bytes [start, end) of a byte array (no copy of the array is kept). */
export function binaryOf(bytes: Uint8Array, start = 0, end = bytes.byteLength): BinaryString {
  return start === end ? '' : latin1Slice.call(bytes, start, end);
}

/** The bytes of a binary string, in a new array. */
export function bytesOf(s: BinaryString): Uint8Array {
  const out = new Uint8Array(s.length);
  writeBinary(s, out, 0);
  return out;
}

/** Writes the bytes of a binary string into target at offset (which must have room for them). */
export function writeBinary(s: BinaryString, target: Uint8Array, offset: number): void {
  if (s.length > 0) latin1Write.call(target, s, offset, s.length);
}

/** Bytewise order of two binary strings (as Go's bytes.Compare): -1, 0 or 1. */
export function compareBinary(a: BinaryString, b: BinaryString): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
