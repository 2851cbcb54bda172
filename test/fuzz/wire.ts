/**
 * A minimal protobuf wire writer for the fuzzer: it writes whatever it is told, including
 * what no correct encoder would (wrong wire types, lengths past the end, overlong varints),
 * so the fuzzer controls every byte the server has to parse.
 */

/** Protobuf wire types (6 and 7 are invalid on purpose, for the fuzzer). */
export const WireType = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

const MASK_64 = (1n << 64n) - 1n;

/** An append-only byte writer. */
export class WireWriter {
  private readonly parts: Buffer[] = [];

  /** A varint of any integer, taken as unsigned 64-bit two's complement (so -1 is ten bytes). */
  varint(value: bigint | number): this {
    let v = BigInt(value) & MASK_64;
    const out: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      out.push(b);
    } while (v !== 0n);
    this.parts.push(Buffer.from(out));
    return this;
  }

  /** A field tag; the wire type may be any 0..7. */
  tag(field: number, wireType: number): this {
    return this.varint((BigInt(field) << 3n) | BigInt(wireType & 7));
  }

  /** Raw bytes. */
  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  /** A length-delimited value with its true length. */
  lengthDelimited(bytes: Uint8Array): this {
    return this.varint(bytes.byteLength).raw(bytes);
  }

  /** Little-endian fixed 64-bit of an integer (two's complement). */
  fixed64(value: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value) & MASK_64);
    return this.raw(b);
  }

  /** Little-endian fixed 32-bit of an integer (two's complement). */
  fixed32(value: bigint | number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(Number(BigInt(value) & 0xffff_ffffn));
    return this.raw(b);
  }

  /** Little-endian IEEE double. */
  double(value: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    return this.raw(b);
  }

  /** Everything written so far. */
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Zigzag encoding of sint32/sint64 values. */
export function zigzag(value: bigint): bigint {
  return value >= 0n ? value << 1n : (-value << 1n) - 1n;
}
