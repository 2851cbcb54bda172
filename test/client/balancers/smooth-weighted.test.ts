/**
 * Proves the smooth weighted round robin follows nginx's algorithm: weights 5:1:1 give the
 * known sequence a a b a c a a, exactly 5:1:1 in every window of 7 picks and never three heavy
 * picks in a row within a cycle; other weights are met exactly per cycle; excluded instances are never picked;
 * an update keeps the proportions of those that stay, and after one joins or leaves every following cycle
 * meets the new weights exactly.
 */
import { describe, expect, test } from 'vitest';
import { SmoothWeightedBalancer } from '../../../src/client/balancers/smooth-weighted.js';
import { inst, tally } from './fixtures.js';

describe('SmoothWeightedBalancer', () => {
  test("weights 5:1:1 give nginx's sequence a a b a c a a", () => {
    const b = new SmoothWeightedBalancer();
    b.update([inst('a', 5), inst('b', 1), inst('c', 1)]);
    const seq = Array.from({ length: 7 }, () => b.pick()?.id).join(' ');
    expect(seq).toBe('a a b a c a a');
  });

  // The sequence repeats, so across a cycle boundary (…a a | a a…) the heavy one does run four
  // times; the smoothing guarantee is within a cycle, unlike plain WRR's a a a a a b c.
  test('every cycle of 7 is exactly 5:1:1 and within a cycle the heavy one never runs three times', () => {
    const b = new SmoothWeightedBalancer();
    b.update([inst('a', 5), inst('b', 1), inst('c', 1)]);
    const ids = Array.from({ length: 700 }, () => b.pick()?.id ?? '');
    for (let c = 0; c < 100; c++) {
      const counts = tally(ids.slice(c * 7, c * 7 + 7).map((id) => inst(id)));
      expect(Object.fromEntries(counts)).toEqual({ a: 5, b: 1, c: 1 });
      expect(ids.slice(c * 7, c * 7 + 7).join('')).not.toContain('aaa');
    }
  });

  test('weights 3:2:1 are met exactly over every cycle of 6', () => {
    const b = new SmoothWeightedBalancer();
    b.update([inst('x', 3), inst('y', 2), inst('z', 1)]);
    for (let c = 0; c < 50; c++) {
      const counts = tally(Array.from({ length: 6 }, () => b.pick()));
      expect(Object.fromEntries(counts)).toEqual({ x: 3, y: 2, z: 1 });
    }
  });

  test('draining, down and zero-weight instances are never picked; none eligible gives undefined', () => {
    const b = new SmoothWeightedBalancer();
    b.update([inst('a', 5, 'DRAINING'), inst('b', 2), inst('c', 1, 'DOWN'), inst('d', 1), inst('e', 0)]);
    const counts = tally(Array.from({ length: 30 }, () => b.pick()));
    expect(Object.fromEntries(counts)).toEqual({ b: 20, d: 10 });
    b.update([inst('a', 1, 'DOWN')]);
    expect(b.pick()).toBeUndefined();
    b.update([]);
    expect(b.pick()).toBeUndefined();
  });

  test('an update keeps the proportions for instances that stay', () => {
    const b = new SmoothWeightedBalancer();
    b.update([inst('a', 2), inst('b', 1)]);
    b.pick();
    b.update([inst('a', 2), inst('b', 1), inst('c', 1, 'DRAINING')]);
    const counts = tally(Array.from({ length: 300 }, () => b.pick()));
    expect(counts.get('a')).toBe(200);
    expect(counts.get('b')).toBe(100);
  });

  test('after an instance joins or leaves, every following cycle meets the new weights exactly', () => {
    const b = new SmoothWeightedBalancer();
    b.update([inst('a', 3), inst('b', 2)]);
    for (let k = 0; k < 4; k++) b.pick();
    b.update([inst('a', 3), inst('b', 2), inst('c', 1)]);
    // The first cycle after a change may carry the old cycle's remainder; from the second on, exact.
    Array.from({ length: 6 }, () => b.pick());
    for (let cycle = 0; cycle < 5; cycle++) {
      const counts = tally(Array.from({ length: 6 }, () => b.pick()));
      expect(Object.fromEntries(counts)).toEqual({ a: 3, b: 2, c: 1 });
    }
    b.update([inst('a', 3), inst('c', 1)]);
    Array.from({ length: 4 }, () => b.pick());
    for (let cycle = 0; cycle < 5; cycle++) {
      const counts = tally(Array.from({ length: 4 }, () => b.pick()));
      expect(Object.fromEntries(counts)).toEqual({ a: 3, c: 1 });
    }
  });
});
