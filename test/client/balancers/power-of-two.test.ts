/**
 * Proves the shared power-of-two-choices piece: with n distinct scores the rank-k instance
 * (0 = lowest score) is chosen with probability 2(n-1-k) / (n(n-1)), checked for n = 5 over
 * 50,000 seeded picks within 0.015 per share (over 6 sd); the highest score is never chosen
 * while another exists; the default score reads an in-flight counter; 0 or 1 instance work.
 */
import { describe, expect, test } from 'vitest';
import { InFlightCounter } from '../../../src/client/balancers/in-flight.js';
import { PowerOfTwoBalancer, pickOfTwo } from '../../../src/client/balancers/power-of-two.js';
import { inst, many, seeded, tally } from './fixtures.js';

describe('pickOfTwo', () => {
  test("each rank's share matches 2(n-1-k) / (n(n-1))", () => {
    const instances = many(5);
    const rank = (id: string) => Number(id.slice(1));
    const random = seeded(41);
    const counts = tally(
      Array.from({ length: 50000 }, () => pickOfTwo(instances, random, (i) => rank(i.id))),
    );
    for (let k = 0; k < 5; k++) {
      const expected = (2 * (5 - 1 - k)) / (5 * 4);
      expect(Math.abs((counts.get(`i${k}`) ?? 0) / 50000 - expected)).toBeLessThan(0.015);
    }
    expect(counts.get('i4')).toBeUndefined();
  });

  test('no instance gives undefined and one instance is always chosen', () => {
    expect(pickOfTwo([], seeded(42), () => 0)).toBeUndefined();
    const only = inst('only');
    expect(pickOfTwo([only], seeded(42), () => 0)).toBe(only);
  });
});

describe('PowerOfTwoBalancer', () => {
  test('by default it scores in-flight calls per unit of weight from its counter', () => {
    const counter = new InFlightCounter();
    const b = new PowerOfTwoBalancer({ random: seeded(43), counter });
    b.update(many(2));
    counter.begin('i0');
    expect(b.counter).toBe(counter);
    expect(new Set(Array.from({ length: 50 }, () => b.pick()?.id))).toEqual(new Set(['i1']));
  });

  test('a supplied score replaces the default; exclusions and the empty case hold', () => {
    const b = new PowerOfTwoBalancer({ random: seeded(44), score: (i) => (i.id === 'b' ? 0 : 1) });
    b.update([inst('a'), inst('b'), inst('c', 1, 'DOWN'), inst('d', 1, 'DRAINING'), inst('e', 0)]);
    expect(new Set(Array.from({ length: 50 }, () => b.pick()?.id))).toEqual(new Set(['b']));
    b.update([inst('c', 1, 'DOWN')]);
    expect(b.pick()).toBeUndefined();
  });
});
