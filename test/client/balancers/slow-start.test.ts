/**
 * Proves the slow-start decorator on an injected clock: the instances of the first update are
 * not ramped; a newcomer (or one back from DOWN) starts at the minimum weight, is at half
 * weight half-way through a linear window (its measured share within 0.015 of 0.5/3.5 over
 * 40,000 seeded weighted-random picks, over 6 sd) and at full weight at the end; aggression
 * bends the curve as Envoy's formula says; the inner balancer is re-fed at most once per step;
 * around a ring only keys moving to the newcomer move, and the end state equals a plain ring;
 * under outlier ejection a returning instance ramps again; DRAINING/DOWN stay excluded and
 * nothing eligible gives undefined.
 */
import { describe, expect, test } from 'vitest';
import { OutlierEjectionBalancer } from '../../../src/client/balancers/outlier-ejection.js';
import { RingHashBalancer } from '../../../src/client/balancers/ring-hash.js';
import { SlowStartBalancer, type SlowStartOptions } from '../../../src/client/balancers/slow-start.js';
import type { Balancer, Instance } from '../../../src/client/balancers/types.js';
import { WeightedRandomBalancer } from '../../../src/client/balancers/weighted-random.js';
import { isCairnError } from '../../../src/common/errors.js';
import { inst, keys, many, seeded, tally } from './fixtures.js';

const WINDOW_MS = 60_000;

function setup(inner: Balancer, options: Partial<SlowStartOptions> = {}) {
  const clock = { ms: 5_000 };
  const b = new SlowStartBalancer(inner, { windowMs: WINDOW_MS, now: () => clock.ms, ...options });
  return { b, clock };
}

function share(b: Balancer, id: string, picks = 40000): number {
  return (tally(Array.from({ length: picks }, () => b.pick())).get(id) ?? 0) / picks;
}

describe('SlowStartBalancer', () => {
  test('the first members are warm; a newcomer ramps from 10% through half to full', () => {
    const { b, clock } = setup(new WeightedRandomBalancer({ random: seeded(71) }));
    b.update(many(3));
    expect(b.rampingIds()).toEqual([]);
    expect(Math.abs(share(b, 'i0') - 1 / 3)).toBeLessThan(0.015);
    b.update(many(4));
    expect(b.rampingIds()).toEqual(['i3']);
    expect(b.rampFraction('i3')).toBe(0.1);
    expect(Math.abs(share(b, 'i3') - 0.1 / 3.1)).toBeLessThan(0.015);
    clock.ms += WINDOW_MS / 2;
    expect(b.rampFraction('i3')).toBe(0.5);
    expect(Math.abs(share(b, 'i3') - 0.5 / 3.5)).toBeLessThan(0.015);
    clock.ms += WINDOW_MS / 2;
    expect(Math.abs(share(b, 'i3') - 0.25)).toBeLessThan(0.015);
    expect(b.rampingIds()).toEqual([]);
    expect(b.rampFraction('i3')).toBe(1);
  });

  test('aggression bends the curve: (elapsed / window) ^ (1 / aggression), never below the minimum', () => {
    const { b, clock } = setup(new WeightedRandomBalancer(), { aggression: 2, minWeightPercent: 30 });
    b.update(many(1));
    b.update(many(2));
    const start = clock.ms;
    expect(b.rampFraction('i1', start + WINDOW_MS / 25)).toBeCloseTo(0.3);
    expect(b.rampFraction('i1', start + WINDOW_MS / 4)).toBeCloseTo(0.5);
    expect(b.rampFraction('i1', start + (WINDOW_MS * 9) / 16)).toBeCloseTo(0.75);
    expect(b.rampFraction('i1', start + WINDOW_MS)).toBe(1);
  });

  test('one that returns from DOWN or DRAINING ramps again; one that stays keeps its ramp', () => {
    const { b, clock } = setup(new WeightedRandomBalancer({ random: seeded(72) }));
    b.update(many(3));
    b.update(many(3).map((i) => (i.id === 'i1' ? { ...i, state: 'DOWN' as const } : i)));
    expect(share(b, 'i1', 2000)).toBe(0);
    clock.ms += 1000;
    b.update(many(3));
    expect(b.rampingIds()).toEqual(['i1']);
    clock.ms += WINDOW_MS / 2;
    b.update([...many(3), inst('late')]);
    expect(b.rampFraction('i1')).toBeCloseTo(0.5);
    expect(b.rampingIds()).toEqual(['i1', 'late']);
  });

  test('the inner balancer is re-fed at most once per step, and once at the end', () => {
    let updates = 0;
    const inner: Balancer = new WeightedRandomBalancer({ random: seeded(73) });
    const counting: Balancer = {
      update: (instances: readonly Instance[]) => {
        updates++;
        inner.update(instances);
      },
      pick: (key?: string) => inner.pick(key),
    };
    const { b, clock } = setup(counting, { refreshMs: WINDOW_MS / 10 });
    b.update(many(2));
    b.update(many(3));
    updates = 0;
    for (let ms = 0; ms <= 2 * WINDOW_MS; ms += 100) {
      clock.ms += 100;
      b.pick();
    }
    expect(updates).toBeGreaterThanOrEqual(9);
    expect(updates).toBeLessThanOrEqual(11);
    expect(b.rampingIds()).toEqual([]);
  });

  test('around a ring, only keys that move to the newcomer move, and the end equals a plain ring', () => {
    const { b, clock } = setup(new RingHashBalancer());
    const owners = () => keys(5000).map((k) => b.pick(k)?.id);
    b.update(many(6));
    const before = owners();
    b.update(many(7));
    const early = owners();
    clock.ms += WINDOW_MS / 2;
    const middle = owners();
    clock.ms += WINDOW_MS / 2;
    const after = owners();
    const plain = new RingHashBalancer();
    plain.update(many(7));
    expect(after).toEqual(keys(5000).map((k) => plain.pick(k)?.id));
    const newcomer = (list: (string | undefined)[]) => list.filter((id) => id === 'i6').length;
    expect(newcomer(early)).toBeLessThan(newcomer(middle));
    expect(newcomer(middle)).toBeLessThan(newcomer(after));
    for (const list of [early, middle, after]) {
      expect(list.filter((id, k) => id !== before[k] && id !== 'i6')).toEqual([]);
    }
  });

  test('composed under outlier ejection, an instance back from ejection ramps up again', () => {
    const { b: slow, clock } = setup(new WeightedRandomBalancer({ random: seeded(75) }));
    const b = new OutlierEjectionBalancer(slow, { baseEjectionMs: 10_000, now: () => clock.ms });
    b.update(many(4));
    expect(slow.rampingIds()).toEqual([]);
    for (let k = 0; k < 5; k++) b.onResult(inst('i2'), false);
    expect(share(b, 'i2', 2000)).toBe(0);
    clock.ms += 10_000;
    expect(b.pick()).toBeDefined();
    expect(slow.rampingIds()).toEqual(['i2']);
    expect(Math.abs(share(b, 'i2') - 0.1 / 3.1)).toBeLessThan(0.015);
  });

  test('DRAINING and DOWN stay excluded; nothing eligible gives undefined; bad options are refused', () => {
    const { b } = setup(new WeightedRandomBalancer({ random: seeded(74) }));
    b.update([inst('a')]);
    b.update([inst('a'), inst('b', 1, 'DRAINING'), inst('c', 1, 'DOWN'), inst('d'), inst('e', 0)]);
    expect(b.rampingIds()).toEqual(['d']);
    expect(new Set(Array.from({ length: 300 }, () => b.pick()?.id))).toEqual(new Set(['a', 'd']));
    b.update([inst('a', 1, 'DOWN')]);
    expect(b.pick()).toBeUndefined();
    b.update([]);
    expect(b.pick()).toBeUndefined();
    for (const options of [
      { windowMs: 0 },
      { windowMs: 10, minWeightPercent: 0 },
      { windowMs: 10, aggression: 0 },
    ]) {
      let caught: unknown;
      try {
        new SlowStartBalancer(new WeightedRandomBalancer(), options);
      } catch (err) {
        caught = err;
      }
      expect(isCairnError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
