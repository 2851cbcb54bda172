import { describe, expect, test } from 'vitest';
import {
  chunkedBytes,
  collectBytes,
  concatBytes,
  eagerBytes,
  type LazyBytes,
} from '../../src/common/lazy-bytes.js';

/** Deterministic bytes: byte i is (i * 31 + seed) mod 256. */
function bytesOf(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256);
}

/** LazyBytes made of the given pieces, counting how often its pieces are asked for. */
function counted(pieces: readonly Uint8Array[]): LazyBytes & { calls: number } {
  const out = {
    calls: 0,
    byteLength: pieces.reduce((n, p) => n + p.byteLength, 0),
    *pieces() {
      out.calls++;
      yield* pieces;
    },
  };
  return out;
}

describe('lazy bytes', () => {
  test('chunks have exactly the chunk size, whatever the pieces, and hold the same bytes in order', () => {
    const whole = bytesOf(10_007, 3);
    // Pieces of uneven sizes, some empty, some longer than a chunk.
    const cuts = [0, 1, 1, 500, 2500, 2501, 7000, 9999, 10_007];
    const pieces = cuts.slice(1).map((end, i) => whole.subarray(cuts[i]!, end));
    for (const size of [1, 7, 1000, 4096, 10_007, 20_000]) {
      const chunks = [...chunkedBytes(counted(pieces), size)];
      expect(chunks.slice(0, -1).every((c) => c.byteLength === size)).toBe(true);
      expect(chunks.at(-1)!.byteLength).toBe(whole.byteLength - size * (chunks.length - 1));
      expect(Buffer.concat(chunks).equals(whole)).toBe(true);
    }
  });

  test('a chunk inside one piece is its memory; only a chunk that spans pieces is copied', () => {
    const a = bytesOf(2500, 1);
    const b = bytesOf(1500, 2);
    const chunks = [...chunkedBytes(counted([a, b]), 1000)];
    expect(chunks.map((c) => c.byteLength)).toEqual([1000, 1000, 1000, 1000]);
    expect(chunks[0]!.buffer).toBe(a.buffer);
    expect(chunks[1]!.buffer).toBe(a.buffer);
    expect(chunks[2]!.buffer).not.toBe(a.buffer);
    expect(chunks[3]!.buffer).toBe(b.buffer);
  });

  test('a concatenation asks a part for its bytes only when the reader reaches it', () => {
    const late = counted([bytesOf(10)]);
    const all = concatBytes(bytesOf(5), late);
    expect(all.byteLength).toBe(15);
    const it = chunkedBytes(all, 5)[Symbol.iterator]();
    expect(it.next().value).toEqual(bytesOf(5));
    expect(late.calls).toBe(0);
    expect(it.next().value).toEqual(bytesOf(10).subarray(0, 5));
    expect(late.calls).toBe(1);
    expect(collectBytes(all)).toEqual(Uint8Array.from([...bytesOf(5), ...bytesOf(10)]));
  });

  test('bytes that make fewer or more than they announced are refused as a defect', () => {
    const short: LazyBytes = { byteLength: 10, pieces: () => [bytesOf(4), bytesOf(5)] };
    const long: LazyBytes = { byteLength: 10, pieces: () => [bytesOf(8), bytesOf(8)] };
    expect(() => collectBytes(short)).toThrow(/made 9 of the 10 announced/);
    expect(() => collectBytes(long)).toThrow(/made more than the 10 announced/);
    expect(() => [...chunkedBytes(concatBytes(eagerBytes(bytesOf(3)), short), 4)]).toThrow(/announced/);
  });

  test('empty bytes give no chunk', () => {
    expect([...chunkedBytes(eagerBytes(new Uint8Array(0)), 8)]).toEqual([]);
    expect(collectBytes(concatBytes())).toEqual(new Uint8Array(0));
  });
});
