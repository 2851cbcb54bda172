/**
 * The binary primitives of every mvcc layout (commands, records, snapshots): unsigned
 * varints (LEB128), signed varints, length-prefixed byte strings, and fixed big-endian
 * integers for keys that must sort. Integers are JavaScript safe integers end to end; the
 * writer refuses anything else, the reader refuses truncated or malformed input.
 */
import { assert } from '../../common/assert.js';
import { CairnError, ErrorCode } from '../../common/errors.js';
import { uvarintBytes } from '../../common/varint.js';
import { type BinaryString, binaryOf, writeBinary } from '../binary-string.js';

const TWO_POW_32 = 2 ** 32;

function requireSafeInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value))
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `${what} ${value} is not a safe integer`);
}

/** How many bytes ByteWriter.uvarint writes for value (the same LEB128 as protobuf's). */
export { uvarintBytes };

/** How many bytes ByteWriter.svarint writes for value. */
export function svarintBytes(value: number): number {
  const rest = Math.floor(Math.abs(value) / 0x40);
  return rest > 0 ? 1 + uvarintBytes(rest) : 1;
}

/** Appends to a growing buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  private length = 0;

  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** The bytes written (trimmed to size: a copy, unless the buffer was filled exactly); the writer is done. */
  finish(): Uint8Array {
    return this.length === this.buf.length ? this.buf : this.buf.slice(0, this.length);
  }

  /** The bytes written, as a view of the writer's buffer (no copy: for bytes copied on at once); the writer is done. */
  finishView(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** How many bytes were written so far. */
  get byteLength(): number {
    return this.length;
  }

  /** The bytes written so far, without a copy; the writer starts again, empty, on a new buffer of the same size. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.length);
    this.buf = new Uint8Array(this.buf.length);
    this.length = 0;
    return out;
  }

  /** One byte. */
  u8(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, () => `u8 ${value}`);
    this.reserve(1);
    this.buf[this.length++] = value;
  }

  /** A non-negative safe integer as LEB128: 7 bits a byte, low bits first. */
  uvarint(value: number, what = 'value'): void {
    requireSafeInteger(value, what);
    if (value < 0) throw new CairnError(ErrorCode.INVALID_ARGUMENT, `${what} ${value} is negative`);
    // Exactly what the value takes, so a writer sized with uvarintBytes never grows.
    this.reserve(uvarintBytes(value));
    let v = value;
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  /**
   * A safe integer of either sign: the first byte holds the sign (bit 6) and the low 6 bits
   * of the magnitude, then LEB128 continues with the rest. Exact for all of ±(2^53 - 1),
   * which zigzag coding in doubles is not.
   */
  svarint(value: number, what = 'value'): void {
    requireSafeInteger(value, what);
    const negative = value < 0;
    const magnitude = Math.abs(value);
    const rest = Math.floor(magnitude / 0x40);
    this.reserve(1);
    this.buf[this.length++] = (magnitude % 0x40) | (negative ? 0x40 : 0) | (rest > 0 ? 0x80 : 0);
    if (rest > 0) this.uvarint(rest, what);
  }

  /** A length-prefixed byte string. */
  bytes(value: Uint8Array): void {
    this.uvarint(value.length);
    this.raw(value);
  }

  /** A length-prefixed binary string, written as the bytes it holds (as bytes() writes them). */
  binary(value: BinaryString): void {
    this.uvarint(value.length);
    this.reserve(value.length);
    writeBinary(value, this.buf, this.length);
    this.length += value.length;
  }

  /** Bytes as they are, no length. */
  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.buf.set(value, this.length);
    this.length += value.length;
  }

  /** A non-negative safe integer as 8 bytes big-endian (sorts like the number). */
  u64be(value: number): void {
    requireSafeInteger(value, 'u64');
    assert(value >= 0, 'u64 must not be negative');
    this.reserve(8);
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.length, 8);
    view.setUint32(0, Math.floor(value / TWO_POW_32));
    view.setUint32(4, value % TWO_POW_32);
    this.length += 8;
  }

  /** An unsigned 32-bit integer, 4 bytes big-endian. */
  u32be(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value < TWO_POW_32, () => `u32 ${value}`);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.length, 4).setUint32(0, value);
    this.length += 4;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
}

/** Reads what ByteWriter wrote; malformed input throws CairnError CORRUPT. */
export class ByteReader {
  private offset = 0;

  /**
   * With `copies` false, bytes() returns views of buf instead of copies: for values that do
   * not outlive buf (a command decoded to be applied at once).
   */
  constructor(
    private readonly buf: Uint8Array,
    private readonly copies = true,
  ) {}

  /** Whether every byte was consumed. */
  get done(): boolean {
    return this.offset === this.buf.length;
  }

  /** How far the reader got. */
  get position(): number {
    return this.offset;
  }

  /** One byte. */
  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  /** A LEB128 non-negative safe integer. */
  uvarint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if (!Number.isSafeInteger(value)) throw corrupt('varint beyond 2^53');
      if ((b & 0x80) === 0) return value;
      scale *= 0x80;
      if (scale > 2 ** 56) throw corrupt('varint too long');
    }
  }

  /** A signed varint (see ByteWriter.svarint). */
  svarint(): number {
    const first = this.u8();
    let magnitude = first & 0x3f;
    if ((first & 0x80) !== 0) {
      magnitude += this.uvarint() * 0x40;
      if (!Number.isSafeInteger(magnitude)) throw corrupt('signed varint beyond 2^53');
    }
    if ((first & 0x40) === 0) return magnitude;
    return magnitude === 0 ? 0 : -magnitude;
  }

  /** A length-prefixed byte string, copied so it does not pin the input buffer (unless the reader was made not to copy). */
  bytes(): Uint8Array {
    const length = this.uvarint();
    if (this.copies) return this.raw(length);
    this.need(length);
    const out = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  /** The bytes read from. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** Steps over a length-prefixed byte string and returns its length: it ends at position. */
  skipBytes(): number {
    const length = this.uvarint();
    this.need(length);
    this.offset += length;
    return length;
  }

  /** A length-prefixed byte string (as bytes() reads it), as a binary string. */
  binary(): BinaryString {
    const length = this.uvarint();
    this.need(length);
    const out = binaryOf(this.buf, this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  /** length bytes, copied. */
  raw(length: number): Uint8Array {
    this.need(length);
    const out = this.buf.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  /** 8 bytes big-endian. */
  u64be(): number {
    this.need(8);
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.offset, 8);
    const high = view.getUint32(0);
    if (high >= 2 ** 21) throw corrupt('u64 beyond 2^53');
    this.offset += 8;
    return high * TWO_POW_32 + view.getUint32(4);
  }

  /** 4 bytes big-endian. */
  u32be(): number {
    this.need(4);
    const value = new DataView(this.buf.buffer, this.buf.byteOffset + this.offset, 4).getUint32(0);
    this.offset += 4;
    return value;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buf.length)
      throw corrupt(`truncated: need ${bytes} bytes at ${this.offset}`);
  }
}

/** A CORRUPT error for bytes no Cairn writer produced. */
export function corrupt(why: string): CairnError {
  return new CairnError(ErrorCode.CORRUPT, `mvcc decode: ${why}`);
}
