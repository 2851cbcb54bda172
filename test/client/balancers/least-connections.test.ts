/**
 * Proves the power-of-two-choices least-connections balancer: with no calls in flight picks
 * spread evenly (within 10% of the mean over 30,000 seeded picks); the instance with strictly
 * the most in-flight calls is never picked; a simulated load that holds calls open stays
 * balanced; begin/end count through a counter that can be shared; exclusions hold. When
 * membership changes under load, an idle newcomer takes the calls P2C draws it for (2 in 5)
 * until it carries its share and all are level, and a removed instance is never picked again (its calls
 * still end cleanly).
 */
import { describe, expect, test } from 'vitest';
import {
  InFlightCounter,
  LeastConnectionsBalancer,
} from '../../../src/client/balancers/least-connections.js';
import type { Instance } from '../../../src/client/balancers/types.js';
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

  test('under load, a newcomer fills up to its share, and a removed instance gets nothing more', () => {
    const b = new LeastConnectionsBalancer({ random: seeded(8) });
    b.update(many(4));
    const hold = (n: number) => {
      const picked: Instance[] = [];
      for (let k = 0; k < n; k++) {
        const p = b.pick();
        if (p === undefined) throw new Error('no pick');
        b.begin(p.id);
        picked.push(p);
      }
      return picked;
    };
    hold(400);
    const before = many(4).map((i) => b.counter.get(i.id));
    b.update([...many(4), inst('new')]);
    // The idle newcomer is the least loaded one: P2C picks it whenever it is one of the two
    // drawn (2 in 5 picks: 40 of 100, sd 4.9), and never lets it overtake the others...
    const next = tally(hold(100));
    expect(next.get('new')).toBeGreaterThanOrEqual(25);
    expect(next.get('new')).toBeLessThanOrEqual(55);
    expect(b.counter.get('new')).toBeLessThanOrEqual(Math.max(...before));
    // ...until it carries its share: then all five are level.
    hold(1000);
    const level = [...many(4), inst('new')].map((i) => b.counter.get(i.id));
    expect(Math.max(...level) - Math.min(...level)).toBeLessThanOrEqual(10);
    // i1 leaves: never picked again, though its calls in flight still end.
    b.update([...many(4).filter((i) => i.id !== 'i1'), inst('new')]);
    expect(tally(hold(400)).get('i1')).toBeUndefined();
    const i1 = b.counter.get('i1');
    for (let k = 0; k < i1; k++) b.end('i1');
    expect(b.counter.get('i1')).toBe(0);
  });
});
