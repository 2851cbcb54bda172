/**
 * Proves the least-load balancer prefers less-loaded instances by the amount power of two
 * choices predicts: with 4 instances of distinct scores, ranks 1..4 take 1/2, 1/3, 1/6 and
 * none of 40,000 seeded picks (each share within 0.015, over 6 sd); cpu counts through the
 * idle fraction; an unreported instance scores as the mean report (or the stated override);
 * new reports and membership changes take effect on the next picks; exclusions hold.
 */
import { describe, expect, test } from 'vitest';
import { LeastLoadBalancer, loadScore } from '../../../src/client/balancers/least-load.js';
import type { Instance, InstanceLoad } from '../../../src/client/balancers/types.js';
import { inst, seeded, tally } from './fixtures.js';

const PICKS = 40000;

function loaded(id: string, inFlight: number, cpu: number, weight = 1): Instance {
  return { ...inst(id, weight), load: { inFlight, cpu } };
}

function shares(b: LeastLoadBalancer): Map<string, number> {
  const counts = tally(Array.from({ length: PICKS }, () => b.pick()));
  return new Map([...counts].map(([id, c]) => [id, c / PICKS]));
}

function expectShares(actual: Map<string, number>, expected: Record<string, number>): void {
  for (const [id, share] of Object.entries(expected)) {
    expect(Math.abs((actual.get(id) ?? 0) - share), id).toBeLessThan(0.015);
  }
}

describe('loadScore', () => {
  test('is calls per unit of idle capacity, divided by weight', () => {
    expect(loadScore({ inFlight: 0, cpu: 0 }, 1)).toBe(1);
    expect(loadScore({ inFlight: 1, cpu: 0.5 }, 1)).toBe(4);
    expect(loadScore({ inFlight: 1, cpu: 0.5 }, 2)).toBe(2);
    expect(loadScore({ inFlight: 9, cpu: 0 }, 1)).toBeCloseTo(loadScore({ inFlight: 0, cpu: 0.9 }, 1));
    // Saturated or out-of-range reports are clamped, never infinite or negative.
    expect(loadScore({ inFlight: 0, cpu: 1.5 }, 1)).toBe(100);
    expect(loadScore({ inFlight: -3, cpu: -1 }, 1)).toBe(1);
  });
});

describe('LeastLoadBalancer', () => {
  test('ranks 1..4 by load take 1/2, 1/3, 1/6 and 0 of the picks', () => {
    const b = new LeastLoadBalancer({ random: seeded(31) });
    b.update([loaded('busy', 20, 0.5), loaded('idle', 0, 0.1), loaded('mid', 5, 0.2), loaded('hot', 2, 0.8)]);
    // Scores: idle 1.1, mid 7.5, hot 15, busy 42.
    expectShares(shares(b), { idle: 1 / 2, mid: 1 / 3, hot: 1 / 6, busy: 0 });
    expect(shares(b).get('busy')).toBeUndefined();
  });

  test('cpu counts: fewer calls on a hot instance can lose to more calls on a cool one', () => {
    const b = new LeastLoadBalancer({ random: seeded(32) });
    b.update([loaded('cool', 4, 0), loaded('hot', 1, 0.75)]);
    expect(new Set(shares(b).keys())).toEqual(new Set(['cool']));
  });

  test('an unreported instance scores as the mean report, or as the stated override', () => {
    const members = [loaded('a', 0, 0), loaded('b', 8, 0), inst('c')];
    const mean = new LeastLoadBalancer({ random: seeded(33) });
    mean.update(members);
    expect(mean.scoreOf('c')).toBe(5);
    expectShares(shares(mean), { a: 2 / 3, c: 1 / 3, b: 0 });
    const unreportedLoad: InstanceLoad = { inFlight: 100, cpu: 0.9 };
    const pessimist = new LeastLoadBalancer({ random: seeded(34), unreportedLoad });
    pessimist.update(members);
    expectShares(shares(pessimist), { a: 2 / 3, b: 1 / 3, c: 0 });
  });

  test('when nobody reports, equal weights share evenly', () => {
    const b = new LeastLoadBalancer({ random: seeded(35) });
    b.update([inst('a'), inst('b'), inst('c'), inst('d')]);
    expectShares(shares(b), { a: 0.25, b: 0.25, c: 0.25, d: 0.25 });
  });

  test('new reports and membership changes take effect on the next picks', () => {
    const b = new LeastLoadBalancer({ random: seeded(36) });
    b.update([loaded('a', 0, 0), loaded('b', 3, 0), loaded('c', 6, 0)]);
    expectShares(shares(b), { a: 2 / 3, b: 1 / 3, c: 0 });
    b.update([loaded('a', 9, 0), loaded('b', 3, 0), loaded('c', 6, 0)]);
    expectShares(shares(b), { b: 2 / 3, c: 1 / 3, a: 0 });
    b.update([loaded('a', 9, 0), loaded('c', 6, 0), loaded('d', 0, 0)]);
    expectShares(shares(b), { d: 2 / 3, c: 1 / 3, a: 0 });
  });

  test('draining, down and zero-weight instances are never picked; none eligible gives undefined', () => {
    const b = new LeastLoadBalancer({ random: seeded(37) });
    b.update([
      { ...loaded('a', 0, 0), state: 'DRAINING' },
      loaded('b', 5, 0.5),
      { ...loaded('c', 0, 0), state: 'DOWN' },
      loaded('d', 5, 0.5),
      loaded('e', 0, 0, 0),
    ]);
    expect(new Set(Array.from({ length: 300 }, () => b.pick()?.id))).toEqual(new Set(['b', 'd']));
    b.update([{ ...loaded('a', 0, 0), state: 'DOWN' }]);
    expect(b.pick()).toBeUndefined();
    b.update([]);
    expect(b.pick()).toBeUndefined();
  });
});
