/**
 * The fuzzer's payload generator: from a seeded PRNG and a method's request descriptor it
 * writes a request the way a careless, hostile or broken client might — random but typed
 * fields with out-of-range numbers, empty and huge keys, invalid enums, unknown fields,
 * wrong wire types, truncations, overlong varints, lengths past the end, deeply nested
 * Txns, or plain random bytes. The same seed always yields the same bytes.
 */
import type { SimPrng } from '../sim/prng.js';
import type { ApiMethod, FieldDescriptor, MessageTypes } from './schema.js';
import { WireType, WireWriter, zigzag } from './wire.js';

/** Keys whose writes the fuzzer may make; the guard keeps every accepted write under it. */
export const FUZZ_PREFIX = 'fuzz/';
/** The bytes just after every key with FUZZ_PREFIX ('/' + 1). */
export const FUZZ_PREFIX_END = 'fuzz0';
/** Seeded keys: the data that must not change. */
export const SEED_PREFIX = 'seed/';

/** How a payload was made (printed with a failure). */
export type PayloadKind =
  | 'typed'
  | 'typed+unknown-field'
  | 'typed+wrong-wire-type'
  | 'typed+truncated'
  | 'typed+bit-flip'
  | 'typed+bad-length'
  | 'typed+overlong-varint'
  | 'typed+invalid-wire-type'
  | 'deep-txn'
  | 'random-bytes'
  | 'empty'
  | 'oversized';

/** One generated request payload (several for a client-streaming call). */
export interface Payload {
  readonly kind: PayloadKind;
  readonly bytes: Buffer;
}

/** The largest message the fuzzer sends through grpc-js (above the default 2 MiB receive limit). */
export const OVERSIZED_BYTES = 2 * 1024 * 1024 + 4096;

const INT64_VALUES: readonly bigint[] = [
  0n,
  1n,
  -1n,
  2n,
  10n,
  2n ** 31n - 1n,
  2n ** 31n,
  -(2n ** 31n),
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n),
  2n ** 63n - 1n,
  -(2n ** 63n),
  2n ** 64n - 1n,
];

/** Generates payloads for methods from one seed. */
export class PayloadGenerator {
  constructor(private readonly prng: SimPrng) {}

  /** A payload for one request of `method`. */
  payload(method: ApiMethod): Payload {
    const p = this.prng;
    const roll = p.nextInt(1000);
    if (roll < 3) return { kind: 'oversized', bytes: this.oversized(method) };
    if (roll < 30) return { kind: 'empty', bytes: Buffer.alloc(0) };
    if (roll < 120) return { kind: 'random-bytes', bytes: this.randomBytes(p.nextInt(200)) };
    if (roll < 250 && method.path === '/etcdserverpb.KV/Txn')
      return { kind: 'deep-txn', bytes: this.deepTxn(p.chance(0.8) ? 1 + p.nextInt(40) : 2000) };
    const typed = this.message(method.types, method.requestType, 0);
    const m = p.nextInt(100);
    if (m < 55) return { kind: 'typed', bytes: typed };
    if (m < 65) return { kind: 'typed+unknown-field', bytes: this.withUnknownField(typed) };
    if (m < 73) return { kind: 'typed+wrong-wire-type', bytes: this.withWrongWireType(method, typed) };
    if (m < 81 && typed.length > 0)
      return { kind: 'typed+truncated', bytes: typed.subarray(0, p.nextInt(typed.length)) };
    if (m < 88 && typed.length > 0) return { kind: 'typed+bit-flip', bytes: this.flipBits(typed) };
    if (m < 93) return { kind: 'typed+bad-length', bytes: this.withBadLength(typed) };
    if (m < 97) return { kind: 'typed+overlong-varint', bytes: this.withOverlongVarint(typed) };
    return { kind: 'typed+invalid-wire-type', bytes: this.withInvalidWireType(typed) };
  }

  /** A typed message of `fullName`, fields chosen at random. */
  message(types: MessageTypes, fullName: string, depth: number): Buffer {
    const p = this.prng;
    const d = types.message(fullName);
    const w = new WireWriter();
    for (const f of d.field) {
      if (!p.chance(depth === 0 ? 0.7 : 0.5)) continue;
      const repeats = f.label === 'LABEL_REPEATED' ? p.pick([0, 1, 1, 2, 3, 8]) : p.chance(0.03) ? 2 : 1;
      for (let i = 0; i < repeats; i++) this.field(w, types, fullName, f, depth);
    }
    return w.finish();
  }

  private field(w: WireWriter, types: MessageTypes, scope: string, f: FieldDescriptor, depth: number): void {
    const p = this.prng;
    switch (f.type) {
      case 'TYPE_BYTES':
      case 'TYPE_STRING':
        w.tag(f.number, WireType.bytes).lengthDelimited(this.bytesValue(f.name));
        return;
      case 'TYPE_MESSAGE': {
        const inner =
          depth >= 4 ? Buffer.alloc(0) : this.message(types, types.resolve(scope, f.typeName), depth + 1);
        w.tag(f.number, WireType.bytes).lengthDelimited(inner);
        return;
      }
      case 'TYPE_BOOL':
        w.tag(f.number, WireType.varint).varint(p.pick([0n, 1n, 1n, 2n, 2n ** 40n]));
        return;
      case 'TYPE_ENUM':
        w.tag(f.number, WireType.varint).varint(p.pick([0n, 1n, 2n, 3n, 4n, 5n, -1n, 99n, 2n ** 31n - 1n]));
        return;
      case 'TYPE_DOUBLE':
        w.tag(f.number, WireType.fixed64).double(
          p.pick([0, -1, 0.5, 1e308, Number.NaN, Number.POSITIVE_INFINITY]),
        );
        return;
      case 'TYPE_FLOAT':
        w.tag(f.number, WireType.fixed32).fixed32(p.nextU32());
        return;
      case 'TYPE_FIXED64':
      case 'TYPE_SFIXED64':
        w.tag(f.number, WireType.fixed64).fixed64(this.int64());
        return;
      case 'TYPE_FIXED32':
      case 'TYPE_SFIXED32':
        w.tag(f.number, WireType.fixed32).fixed32(this.int64());
        return;
      case 'TYPE_SINT32':
      case 'TYPE_SINT64':
        w.tag(f.number, WireType.varint).varint(zigzag(this.int64()));
        return;
      default:
        // int32, int64, uint32, uint64
        w.tag(f.number, WireType.varint).varint(this.int64());
    }
  }

  /** A 64-bit value: a boundary, a small number, or random bits. */
  int64(): bigint {
    const p = this.prng;
    const r = p.nextInt(10);
    if (r < 5) return p.pick(INT64_VALUES);
    if (r < 8) return BigInt(p.nextInt(1000));
    return (BigInt(p.nextU32()) << 32n) | BigInt(p.nextU32());
  }

  /** A key, name, URL or other byte string: mostly under FUZZ_PREFIX, sometimes hostile. */
  bytesValue(fieldName: string): Buffer {
    const p = this.prng;
    const r = p.nextInt(100);
    if (fieldName === 'range_end' && r < 30)
      return Buffer.from(p.pick(['\0', FUZZ_PREFIX_END, `${FUZZ_PREFIX}zz`, 'a', '\xff']), 'latin1');
    if (r < 45)
      return Buffer.from(`${FUZZ_PREFIX}${p.pick(['a', 'b', 'k', 'lock', 'elect', 'x/y'])}${p.nextInt(20)}`);
    if (r < 55) return Buffer.alloc(0);
    if (r < 65) return this.randomBytes(1 + p.nextInt(32));
    if (r < 70) return Buffer.from(`${SEED_PREFIX}k${p.nextInt(8)}`);
    if (r < 74) return Buffer.from([0]);
    if (r < 77) return Buffer.from([0xff, 0xff]);
    if (r < 80)
      return Buffer.from(
        p.pick(['http://127.0.0.1:1', 'https://[::1]:9', 'http://x', 'unix:///tmp/s', '%zz']),
      );
    if (r < 83) return Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80]); // invalid UTF-8 (for string fields)
    if (r < 86) return Buffer.alloc(64 * 1024, 0x61);
    if (r < 87) return Buffer.alloc(1024 * 1024 + p.nextInt(1024 * 1024), 0x62); // around --max-request-bytes
    return Buffer.from(`${FUZZ_PREFIX}${'n'.repeat(p.nextInt(300))}`);
  }

  /** n random bytes. */
  randomBytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.prng.nextInt(256);
    return out;
  }

  private oversized(method: ApiMethod): Buffer {
    // A valid-looking field 1 of the method's first bytes-ish shape, too large for the transport.
    const w = new WireWriter();
    w.tag(1, WireType.bytes).lengthDelimited(Buffer.alloc(OVERSIZED_BYTES, 0x7a));
    void method;
    return w.finish();
  }

  private withUnknownField(typed: Buffer): Buffer {
    const p = this.prng;
    const w = new WireWriter().raw(typed);
    const field = p.pick([15, 99, 1000, 2 ** 29 - 1]);
    switch (p.nextInt(4)) {
      case 0:
        w.tag(field, WireType.varint).varint(this.int64());
        break;
      case 1:
        w.tag(field, WireType.bytes).lengthDelimited(this.randomBytes(p.nextInt(64)));
        break;
      case 2:
        w.tag(field, WireType.fixed64).fixed64(this.int64());
        break;
      default:
        w.tag(field, WireType.startGroup).tag(1, WireType.varint).varint(1).tag(field, WireType.endGroup);
    }
    return w.finish();
  }

  private withWrongWireType(method: ApiMethod, typed: Buffer): Buffer {
    const p = this.prng;
    const fields = method.types.message(method.requestType).field;
    if (fields.length === 0) return this.withUnknownField(typed);
    const f = p.pick(fields);
    const w = new WireWriter().raw(typed);
    const bytesLike = ['TYPE_BYTES', 'TYPE_STRING', 'TYPE_MESSAGE'].includes(f.type);
    if (bytesLike)
      w.tag(f.number, p.pick([WireType.varint, WireType.fixed32, WireType.fixed64])).fixed64(this.int64());
    else w.tag(f.number, WireType.bytes).lengthDelimited(this.randomBytes(p.nextInt(16)));
    return w.finish();
  }

  private flipBits(typed: Buffer): Buffer {
    const out = Buffer.from(typed);
    const flips = 1 + this.prng.nextInt(4);
    for (let i = 0; i < flips; i++) {
      const at = this.prng.nextInt(out.length);
      out[at] = (out[at] ?? 0) ^ (1 << this.prng.nextInt(8));
    }
    return out;
  }

  private withBadLength(typed: Buffer): Buffer {
    // A bytes field that claims more bytes than follow.
    const w = new WireWriter().raw(typed);
    w.tag(1 + this.prng.nextInt(6), WireType.bytes).varint(this.prng.pick([5n, 1000n, 2n ** 31n, 2n ** 63n]));
    return w.raw(this.randomBytes(this.prng.nextInt(4))).finish();
  }

  private withOverlongVarint(typed: Buffer): Buffer {
    const w = new WireWriter().raw(typed);
    w.tag(1 + this.prng.nextInt(6), WireType.varint);
    return w
      .raw(Buffer.alloc(11 + this.prng.nextInt(8), 0xff))
      .raw(Buffer.from([0x01]))
      .finish();
  }

  private withInvalidWireType(typed: Buffer): Buffer {
    return new WireWriter()
      .raw(typed)
      .tag(1 + this.prng.nextInt(6), this.prng.pick([6, 7]))
      .raw(this.randomBytes(4))
      .finish();
  }

  /** A Txn nested `depth` levels deep through RequestOp.request_txn (field 4 in RequestOp, field 2 success). */
  deepTxn(depth: number): Buffer {
    let txn = new WireWriter()
      .tag(2, WireType.bytes)
      .lengthDelimited(
        new WireWriter()
          .tag(1, WireType.bytes)
          .lengthDelimited(
            new WireWriter().tag(1, WireType.bytes).lengthDelimited(Buffer.from('seed/k0')).finish(),
          )
          .finish(),
      )
      .finish();
    for (let i = 0; i < depth; i++) {
      const op = new WireWriter().tag(4, WireType.bytes).lengthDelimited(txn).finish();
      txn = new WireWriter().tag(2, WireType.bytes).lengthDelimited(op).finish();
    }
    return txn;
  }
}
