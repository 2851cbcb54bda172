/**
 * Proves the random balancers draw in the stated proportions: uniform random over 6 instances
 * and weighted random at 1:2:3:4 each pass a chi-square test at p = 1e-6 and land within a
 * per-instance tolerance of at least 5 standard deviations (60,000 and 100,000 seeded picks);
 * after a membership or weight change the very next picks follow the new set; the cumulative
 * search puts each boundary in the right interval; exclusions and the empty case hold.
 */
import { describe, expect, test } from 'vitest';
import { RandomBalancer } from '../../../src/client/balancers/random.js';
import type { Balancer } from '../../../src/client/balancers/types.js';
import { WeightedRandomBalancer } from '../../../src/client/balancers/weighted-random.js';
import { CHI_SQUARE_CRITICAL, chiSquare, inst, many, seeded, tally } from './fixtures.js';

function draw(b: Balancer, picks: number): Map<string, number> {
  return tally(Array.from({ length: picks }, () => b.pick()));
}

describe('RandomBalancer', () => {
  test('60,000 picks over 6 instances: chi-square below p=1e-6 and each within 5% of 10,000', () => {
    const b = new RandomBalancer({ random: seeded(21) });
    b.update(many(6));
    const counts = draw(b, 60000);
    expect(counts.size).toBe(6);
    // One instance's count has sd sqrt(60000 * 1/6 * 5/6) = 91, so 500 is 5.5 sd.
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(500);
    const shares = new Map(many(6).map((i) => [i.id, 1 / 6]));
    expect(chiSquare(counts, shares)).toBeLessThan(CHI_SQUARE_CRITICAL[5] as number);
  });

  test('weights are ignored, and after a removal the rest share evenly at once', () => {
    const b = new RandomBalancer({ random: seeded(22) });
    b.update([inst('a', 9), inst('b', 1), inst('c', 1)]);
    for (const c of draw(b, 30000).values()) expect(Math.abs(c - 10000)).toBeLessThan(500);
    b.update([inst('a', 9), inst('c', 1)]);
    const after = draw(b, 20000);
    expect([...after.keys()].sort()).toEqual(['a', 'c']);
    for (const c of after.values()) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  test('draining, down and zero-weight instances are never picked; none eligible gives undefined', () => {
    const b = new RandomBalancer({ random: seeded(23) });
    b.update([inst('a'), inst('b', 1, 'DRAINING'), inst('c', 1, 'DOWN'), inst('d'), inst('e', 0)]);
    expect(new Set(draw(b, 500).keys())).toEqual(new Set(['a', 'd']));
    b.update([inst('a', 1, 'DOWN'), inst('b', 1, 'DRAINING')]);
    expect(b.pick()).toBeUndefined();
    b.update([]);
    expect(b.pick()).toBeUndefined();
  });
});

describe('WeightedRandomBalancer', () => {
  test('100,000 picks at weights 1:2:3:4: chi-square below p=1e-6 and each share within 0.01', () => {
    const b = new WeightedRandomBalancer({ random: seeded(24) });
    b.update([inst('w1', 1), inst('w2', 2), inst('w3', 3), inst('w4', 4)]);
    const counts = draw(b, 100000);
    const shares = new Map([
      ['w1', 0.1],
      ['w2', 0.2],
      ['w3', 0.3],
      ['w4', 0.4],
    ]);
    // The widest share (0.4) has sd sqrt(0.4 * 0.6 / 100000) = 0.0015, so 0.01 is 6.4 sd.
    for (const [id, share] of shares)
      expect(Math.abs((counts.get(id) ?? 0) / 100000 - share)).toBeLessThan(0.01);
    expect(chiSquare(counts, shares)).toBeLessThan(CHI_SQUARE_CRITICAL[3] as number);
  });

  test('a weight change or a newcomer takes effect on the next picks', () => {
    const b = new WeightedRandomBalancer({ random: seeded(25) });
    b.update([inst('a', 1), inst('b', 1)]);
    b.update([inst('a', 3), inst('b', 1)]);
    const reweighted = draw(b, 40000);
    expect(Math.abs((reweighted.get('a') ?? 0) / 40000 - 0.75)).toBeLessThan(0.015);
    b.update([inst('a', 3), inst('b', 1), inst('c', 4)]);
    const grown = draw(b, 40000);
    expect(Math.abs((grown.get('c') ?? 0) / 40000 - 0.5)).toBeLessThan(0.015);
    expect(Math.abs((grown.get('a') ?? 0) / 40000 - 0.375)).toBeLessThan(0.015);
  });

  test('fractional weights work and each boundary belongs to the interval it opens', () => {
    const at = (r: number) => {
      const b = new WeightedRandomBalancer({ random: () => r });
      b.update([inst('x', 0.5), inst('y', 1.5), inst('z', 2)]);
      return b.pick()?.id;
    };
    // Running totals 0.5, 2, 4: x owns [0, 0.5), y [0.5, 2), z [2, 4).
    expect(at(0)).toBe('x');
    expect(at(0.124)).toBe('x');
    expect(at(0.125)).toBe('y');
    expect(at(0.499)).toBe('y');
    expect(at(0.5)).toBe('z');
    expect(at(0.9999999999)).toBe('z');
  });

  test('draining, down and zero-weight instances are never picked; none eligible gives undefined', () => {
    const b = new WeightedRandomBalancer({ random: seeded(26) });
    b.update([inst('a', 5, 'DRAINING'), inst('b', 2), inst('c', 5, 'DOWN'), inst('d', 1), inst('e', 0)]);
    expect(new Set(draw(b, 500).keys())).toEqual(new Set(['b', 'd']));
    b.update([inst('a', 1, 'DOWN'), inst('e', 0)]);
    expect(b.pick()).toBeUndefined();
    b.update([]);
    expect(b.pick()).toBeUndefined();
  });
});
