/**
 * Proves the power-of-two-choices least-connections balancer: with no calls in flight picks
 * spread evenly (within 10% of the mean over 30,000 seeded picks); the instance with strictly
 * the most in-flight calls is never picked; a simulated load that holds calls open stays
 * balanced; begin/end count through a counter that can be shared; exclusions hold.
 */
import { describe, expect, test } from 'vitest';
import {
  InFlightCounter,
  LeastConnectionsBalancer,
} from '../../../src/client/balancers/least-connections.js';
import { inst, many, seeded, tally } from './fixtures.js';

describe('LeastConnectionsBalancer', () => {
  test('with nothing in flight, picks are near-uniform', () => {
    const b = new LeastConnectionsBalancer({ random: seeded(3) });
    b.update(many(6));
    const counts = tally(Array.from({ length: 30000 }, () => b.pick()));
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 5000)).toBeLessThan(500);
  });

  test('the most loaded instance is never picked when another is less loaded', () => {
    const b = new LeastConnectionsBalancer({ random: seeded(4) });
    b.update(many(4));
    for (let k = 0; k < 5; k++) b.begin('i2');
    b.begin('i0');
    const counts = tally(Array.from({ length: 2000 }, () => b.pick()));
    expect(counts.get('i2')).toBeUndefined();
    expect(counts.size).toBe(3);
  });

  test('holding picked calls open keeps in-flight counts balanced', () => {
    const random = seeded(5);
    const b = new LeastConnectionsBalancer({ random });
    b.update(many(5));
    const open: string[] = [];
    for (let step = 0; step < 5000; step++) {
      const p = b.pick();
      if (p === undefined) throw new Error('no pick');
      b.begin(p.id);
      open.push(p.id);
      // Finish a random open call about half the time, so load accumulates to ~2,500 calls.
      if (random() < 0.5) {
        const [done] = open.splice(Math.floor(random() * open.length), 1);
        if (done !== undefined) b.end(done);
      }
    }
    const loads = many(5).map((i) => b.counter.get(i.id));
    expect(loads.reduce((x, y) => x + y, 0)).toBe(open.length);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(10);
  });

  test('weight divides load: a weight-3 instance carries about three times the calls', () => {
    const b = new LeastConnectionsBalancer({ random: seeded(6) });
    b.update([inst('heavy', 3), inst('light', 1)]);
    for (let k = 0; k < 400; k++) {
      const p = b.pick();
      if (p !== undefined) b.begin(p.id);
    }
    expect(b.counter.get('heavy')).toBeGreaterThanOrEqual(295);
    expect(b.counter.get('heavy')).toBeLessThanOrEqual(305);
  });

  test('a shared counter is seen by every balancer using it, and end never goes below zero', () => {
    const counter = new InFlightCounter();
    const one = new LeastConnectionsBalancer({ counter, random: seeded(7) });
    const two = new LeastConnectionsBalancer({ counter, random: seeded(8) });
    one.update(many(2));
    two.update(many(2));
    one.begin('i0');
    expect(two.counter.get('i0')).toBe(1);
    expect(Array.from({ length: 20 }, () => two.pick()?.id).every((id) => id === 'i1')).toBe(true);
    two.end('i0');
    two.end('i0');
    expect(counter.get('i0')).toBe(0);
  });

  test('draining and down instances are never picked; none eligible gives undefined', () => {
    const b = new LeastConnectionsBalancer({ random: seeded(9) });
    b.update([inst('a', 1, 'DRAINING'), inst('b'), inst('c', 1, 'DOWN'), inst('d')]);
    const ids = new Set(Array.from({ length: 200 }, () => b.pick()?.id));
    expect(ids).toEqual(new Set(['b', 'd']));
    b.update([inst('a')]);
    expect(b.pick()?.id).toBe('a');
    b.update([inst('a', 1, 'DOWN')]);
    expect(b.pick()).toBeUndefined();
  });
});
