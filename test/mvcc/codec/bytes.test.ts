// Proves the binary primitives round-trip (and that a writer sized exactly never grows) at their edges (0, 2^53-1, negatives, empty and large byte strings), that big-endian keys sort like the numbers they hold, and that malformed input is refused as CORRUPT rather than misread.
import { describe, expect, it } from 'vitest';
import { ErrorCode, isCairnError } from '../../../src/common/errors.js';
import { svarintBytes, uvarintBytes } from '../../../src/mvcc/codec/bytes.js';
import { ByteReader, ByteWriter } from '../../../src/mvcc/index.js';

const EDGES = [
  0,
  1,
  63,
  64,
  127,
  128,
  255,
  16383,
  16384,
  2 ** 31,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 52,
  Number.MAX_SAFE_INTEGER,
];

describe('varints', () => {
  it('unsigned values round-trip', () => {
    const w = new ByteWriter(1);
    for (const v of EDGES) w.uvarint(v);
    const r = new ByteReader(w.finish());
    expect(EDGES.map(() => r.uvarint())).toEqual(EDGES);
    expect(r.done).toBe(true);
  });

  it('signed values of both signs round-trip, exactly up to ±(2^53 - 1)', () => {
    const values = [...EDGES, ...EDGES.map((v) => -v).filter((v) => v !== 0)];
    const w = new ByteWriter(1);
    for (const v of values) w.svarint(v);
    const r = new ByteReader(w.finish());
    expect(values.map(() => r.svarint())).toEqual(values);
  });

  it('small values take one byte', () => {
    const w = new ByteWriter();
    w.uvarint(127);
    w.svarint(-63);
    expect(w.finish()).toHaveLength(2);
  });

  it('a writer sized with uvarintBytes and svarintBytes holds its varints without growing or copying', () => {
    for (const v of EDGES) {
      const w = new ByteWriter(1 + uvarintBytes(v) + svarintBytes(-v));
      w.u8(7);
      w.uvarint(v);
      w.svarint(-v);
      const out = w.finish();
      // finish() copies only a buffer that grew or was not filled: the same array comes back twice.
      expect(w.finish()).toBe(out);
      expect(out).toHaveLength(1 + uvarintBytes(v) + svarintBytes(-v));
    }
  });

  it('refuses unsafe and negative unsigned values', () => {
    const w = new ByteWriter();
    expect(() => w.uvarint(2 ** 53)).toThrow(/safe integer/);
    expect(() => w.svarint(1.5)).toThrow(/safe integer/);
    expect(() => w.uvarint(-1)).toThrow(/negative/);
  });

  it('refuses truncated and overlong input as CORRUPT', () => {
    for (const bytes of [[0x80], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]]) {
      let caught: unknown;
      try {
        new ByteReader(Uint8Array.from(bytes)).uvarint();
      } catch (err) {
        caught = err;
      }
      expect(isCairnError(caught, ErrorCode.CORRUPT)).toBe(true);
    }
  });
});

describe('byte strings and fixed integers', () => {
  it('empty and large byte strings round-trip and are copied out of the input', () => {
    const large = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const w = new ByteWriter(4);
    w.bytes(new Uint8Array(0));
    w.bytes(large);
    const input = w.finish();
    const r = new ByteReader(input);
    expect(r.bytes()).toEqual(new Uint8Array(0));
    const out = r.bytes();
    expect(Buffer.from(out).equals(large)).toBe(true);
    input.fill(0);
    expect(out[1]).toBe(1);
  });

  it('u64be keys sort bytewise like the numbers', () => {
    const values = [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const encoded = values.map((v) => {
      const w = new ByteWriter();
      w.u64be(v);
      return w.finish();
    });
    const sorted = [...encoded].sort(Buffer.compare);
    expect(sorted).toEqual(encoded);
    expect(encoded.map((e) => new ByteReader(e).u64be())).toEqual(values);
  });

  it('reading past the end is CORRUPT', () => {
    expect(() => new ByteReader(Uint8Array.of(5, 1, 2)).bytes()).toThrow(/truncated/);
  });
});
