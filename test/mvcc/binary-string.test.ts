// Proves the store's binary strings are the bytes they stand for: every byte value survives
// the round trip (also out of the middle of a larger array and back into one), their order
// is bytewise order (Buffer.compare's) on keys that differ anywhere and on prefixes, and a
// store keeps and returns every byte value, ordering and comparing keys and values as etcd does.
import { describe, expect, it } from 'vitest';
import { binaryOf, bytesOf, compareBinary, writeBinary } from '../../src/mvcc/binary-string.js';
import { CompareResult, CompareTarget } from '../../src/mvcc/index.js';
import { newStore, ok } from './support.js';

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** A deterministic generator of byte arrays (a linear congruential sequence). */
function byteArrays(count: number, seed: number): Uint8Array[] {
  let x = seed;
  const next = (n: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % n;
  };
  return Array.from({ length: count }, () => {
    // Short arrays over few byte values, so that equal prefixes and equal arrays are common.
    const alphabet = [0x00, 0x01, 0x7f, 0x80, 0xc3, 0xff];
    return Uint8Array.from({ length: next(5) }, () => alphabet[next(alphabet.length)]!);
  });
}

describe('binary strings', () => {
  it('keep every byte value, whole or as a slice, and write them back', () => {
    const s = binaryOf(ALL_BYTES);
    expect(s.length).toBe(256);
    expect(bytesOf(s)).toEqual(ALL_BYTES);
    expect(bytesOf(binaryOf(ALL_BYTES, 100, 103))).toEqual(Uint8Array.from([100, 101, 102]));
    expect(binaryOf(ALL_BYTES, 7, 7)).toBe('');
    const target = new Uint8Array(260);
    writeBinary(s, target, 2);
    expect(target.subarray(2, 258)).toEqual(ALL_BYTES);
    expect(target[0]).toBe(0);
    expect(target[259]).toBe(0);
  });

  it('order as Buffer.compare orders the bytes', () => {
    const arrays = byteArrays(400, 7);
    for (let i = 0; i < arrays.length; i++)
      for (let j = 0; j < arrays.length; j += 7) {
        const a = arrays[i]!;
        const b = arrays[j]!;
        expect(compareBinary(binaryOf(a), binaryOf(b)), `${a} vs ${b}`).toBe(Buffer.compare(a, b));
      }
  });
});

describe('a store with binary keys and values', () => {
  it('returns every byte value, in byte order, and compares values bytewise', () => {
    const store = newStore();
    const keys = [[0xff], [0x80, 0x00], [0x7f], [0x00, 0xff], [0x00]].map((k) => Uint8Array.from(k));
    for (const key of keys) ok(store, { type: 'put', request: { key, value: ALL_BYTES } });
    const all = store.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
    expect(all.kvs.map((kv) => [...kv.key])).toEqual([[0x00], [0x00, 0xff], [0x7f], [0x80, 0x00], [0xff]]);
    for (const kv of all.kvs) expect(kv.value).toEqual(ALL_BYTES);

    const greater = (value: Uint8Array) =>
      ok(store, {
        type: 'txn',
        request: {
          compare: [
            {
              key: Uint8Array.from([0xff]),
              target: CompareTarget.Value,
              result: CompareResult.Greater,
              value,
            },
          ],
          success: [],
          failure: [],
        },
      }).succeeded;
    // ALL_BYTES starts 0x00 0x01: above a lone 0x00 and below 0x01 or 0x80.
    expect(greater(Uint8Array.from([0x00]))).toBe(true);
    expect(greater(Uint8Array.from([0x01]))).toBe(false);
    expect(greater(Uint8Array.from([0x80]))).toBe(false);
  });
});
