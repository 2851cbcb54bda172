// Proves the CRC-32 (zlib's and the library fallback) gives the standard check value, that the fallback equals zlib's on random inputs, and that feeding either in pieces gives the same result as one call.
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Portable } from '../../src/common/crc32.js';

describe('crc32', () => {
  it('matches the standard check value and the empty input', () => {
    for (const f of [crc32, crc32Portable]) {
      expect(f(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
      expect(f(new Uint8Array(0))).toBe(0);
    }
  });

  // zlib.crc32 exists from Node 20.15 on; older Node 20s skip the cross-check.
  it.skipIf(typeof zlib.crc32 !== 'function')('agrees with zlib on pseudo-random inputs', () => {
    let seed = 7;
    for (let n = 0; n < 50; n++) {
      const bytes = new Uint8Array(n * 37);
      for (let i = 0; i < bytes.length; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        bytes[i] = seed & 0xff;
      }
      expect(crc32Portable(bytes)).toBe(zlib.crc32(bytes));
    }
  });

  it('continues from a previous value', () => {
    const all = new TextEncoder().encode('the quick brown fox jumps over the lazy dog');
    for (const f of [crc32, crc32Portable]) {
      const whole = f(all);
      expect(f(all.subarray(17), f(all.subarray(0, 17)))).toBe(whole);
    }
  });
});
