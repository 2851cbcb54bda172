// Proves the table-driven CRC-32 equals zlib's (IEEE) on known vectors and random inputs, and that feeding it in pieces gives the same result as one call.
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/common/crc32.js';

describe('crc32', () => {
  it('matches the standard check value and the empty input', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
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
      expect(crc32(bytes)).toBe(zlib.crc32(bytes));
    }
  });

  it('continues from a previous value', () => {
    const all = new TextEncoder().encode('the quick brown fox jumps over the lazy dog');
    const whole = crc32(all);
    expect(crc32(all.subarray(17), crc32(all.subarray(0, 17)))).toBe(whole);
  });
});
