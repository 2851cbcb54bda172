/**
 * Proves the outlier-ejection decorator on an injected clock: the 5th failure in a row ejects
 * (the 4th does not) and a success resets the count; an ejected instance is never picked and
 * returns exactly when base x times-ejected has passed, capped at the maximum, with a healthy
 * spell forgiving past ejections; at most 50% of eligible instances are ever out, also when
 * membership shrinks; around a ring-hash balancer only the ejected instance's keys move, and
 * they come back; DRAINING/DOWN stay excluded and an empty set gives undefined.
 */
import { describe, expect, test } from 'vitest';
import {
  OutlierEjectionBalancer,
  type OutlierEjectionOptions,
} from '../../../src/client/balancers/outlier-ejection.js';
import { RingHashBalancer } from '../../../src/client/balancers/ring-hash.js';
import { RoundRobinBalancer } from '../../../src/client/balancers/round-robin.js';
import type { Instance } from '../../../src/client/balancers/types.js';
import { isCairnError } from '../../../src/common/errors.js';
import { inst, keys, many, seeded } from './fixtures.js';

const BASE_MS = 10_000;

/** A decorator over round robin with a clock the test moves by hand. */
function setup(instances: Instance[], options: OutlierEjectionOptions = {}) {
  const clock = { ms: 1_000_000 };
  const b = new OutlierEjectionBalancer(new RoundRobinBalancer({ random: seeded(51) }), {
    baseEjectionMs: BASE_MS,
    now: () => clock.ms,
    ...options,
  });
  b.update(instances);
  return { b, clock };
}

function fail(b: OutlierEjectionBalancer, id: string, times: number): void {
  for (let k = 0; k < times; k++) b.onResult(inst(id), false);
}

function picked(b: OutlierEjectionBalancer, picks = 60): Set<string | undefined> {
  return new Set(Array.from({ length: picks }, () => b.pick()?.id));
}

describe('OutlierEjectionBalancer', () => {
  test('the 5th consecutive failure ejects, the 4th does not, and the ejected one is never picked', () => {
    const { b } = setup(many(4));
    fail(b, 'i1', 4);
    expect(b.ejectedIds()).toEqual([]);
    expect(picked(b)).toEqual(new Set(['i0', 'i1', 'i2', 'i3']));
    fail(b, 'i1', 1);
    expect(b.ejectedIds()).toEqual(['i1']);
    expect(picked(b)).toEqual(new Set(['i0', 'i2', 'i3']));
  });

  test('a success resets the count; failures on different instances do not add up', () => {
    const { b } = setup(many(4));
    fail(b, 'i0', 4);
    b.onResult(inst('i0'), true);
    fail(b, 'i0', 4);
    for (let k = 0; k < 4; k++) {
      b.onResult(inst('i2'), false);
      b.onResult(inst('i3'), false);
    }
    expect(b.ejectedIds()).toEqual([]);
    fail(b, 'i0', 1);
    expect(b.ejectedIds()).toEqual(['i0']);
  });

  test('returns after base x times ejected, capped at the maximum', () => {
    const { b, clock } = setup(many(4), { maxEjectionMs: 25_000 });
    for (const lengthMs of [10_000, 20_000, 25_000, 25_000]) {
      fail(b, 'i2', 5);
      clock.ms += lengthMs - 1;
      expect(b.isEjected('i2')).toBe(true);
      expect(picked(b)).not.toContain('i2');
      clock.ms += 1;
      expect(b.isEjected('i2')).toBe(false);
      expect(picked(b)).toContain('i2');
    }
  });

  test('each full base time back in service forgives one past ejection', () => {
    const { b, clock } = setup(many(4));
    fail(b, 'i0', 5);
    clock.ms += BASE_MS;
    fail(b, 'i0', 5);
    clock.ms += 2 * BASE_MS;
    // Back in service with two ejections on record; two healthy base periods forgive both, so
    // the third ejection lasts the base time, not three times it.
    clock.ms += 2 * BASE_MS;
    fail(b, 'i0', 5);
    clock.ms += BASE_MS;
    expect(b.isEjected('i0')).toBe(false);
    // Failing again at once, with no healthy spell, the one on record makes it twice the base.
    fail(b, 'i0', 5);
    clock.ms += 2 * BASE_MS - 1;
    expect(b.isEjected('i0')).toBe(true);
    clock.ms += 1;
    expect(b.isEjected('i0')).toBe(false);
  });

  test('never more than 50% out: the capped one is ejected on its next failure once room frees', () => {
    const { b, clock } = setup(many(4));
    for (const id of ['i0', 'i1', 'i2']) fail(b, id, 5);
    expect(b.ejectedIds()).toEqual(['i0', 'i1']);
    fail(b, 'i3', 10);
    expect(b.ejectedIds()).toEqual(['i0', 'i1']);
    expect(picked(b)).toEqual(new Set(['i2', 'i3']));
    clock.ms += BASE_MS;
    expect(b.ejectedIds()).toEqual([]);
    fail(b, 'i2', 1);
    expect(b.ejectedIds()).toEqual(['i2']);
  });

  test('the cap counts eligible instances only; three give one ejection, one gives none', () => {
    const three = setup(many(3)).b;
    for (const id of ['i0', 'i1']) fail(three, id, 5);
    expect(three.ejectedIds()).toEqual(['i0']);
    const mixed = setup([inst('a'), inst('b'), inst('c', 1, 'DOWN'), inst('d', 1, 'DRAINING')]).b;
    for (const id of ['a', 'b', 'c']) fail(mixed, id, 5);
    expect(mixed.ejectedIds()).toEqual(['a']);
    const alone = setup([inst('solo')]).b;
    fail(alone, 'solo', 50);
    expect(alone.ejectedIds()).toEqual([]);
    expect(alone.pick()?.id).toBe('solo');
  });

  test('when membership shrinks, the soonest-ending ejections end early to keep the cap', () => {
    const { b, clock } = setup(many(4));
    fail(b, 'i0', 5);
    clock.ms += 1;
    fail(b, 'i1', 5);
    b.update(many(4).filter((i) => i.id !== 'i3'));
    expect(b.ejectedIds()).toEqual(['i1']);
    b.update([inst('i1')]);
    expect(b.ejectedIds()).toEqual([]);
    expect(b.pick()?.id).toBe('i1');
  });

  test("around a ring, an ejection moves only the ejected instance's keys, and they come back", () => {
    const clock = { ms: 0 };
    const b = new OutlierEjectionBalancer(new RingHashBalancer(), { now: () => clock.ms });
    b.update(many(8));
    const owners = () => keys(5000).map((k) => b.pick(k)?.id);
    const before = owners();
    fail(b, 'i5', 5);
    const during = owners();
    expect(during.filter((id, k) => (before[k] === 'i5' ? id === 'i5' : id !== before[k]))).toEqual([]);
    expect(during).not.toContain('i5');
    clock.ms += 30_000;
    expect(owners()).toEqual(before);
  });

  test('DRAINING and DOWN stay excluded; unknown ids are ignored; nothing eligible gives undefined', () => {
    const { b } = setup([inst('a'), inst('b', 1, 'DRAINING'), inst('c', 1, 'DOWN'), inst('d'), inst('e', 0)]);
    fail(b, 'ghost', 10);
    expect(picked(b)).toEqual(new Set(['a', 'd']));
    b.update([inst('a', 1, 'DOWN')]);
    expect(b.pick()).toBeUndefined();
    b.update([]);
    expect(b.pick()).toBeUndefined();
  });

  test('nonsensical options are refused', () => {
    for (const options of [
      { consecutiveFailures: 0 },
      { baseEjectionMs: 0 },
      { baseEjectionMs: 10, maxEjectionMs: 5 },
      { maxEjectionPercent: 101 },
    ]) {
      let caught: unknown;
      try {
        new OutlierEjectionBalancer(new RoundRobinBalancer(), options);
      } catch (err) {
        caught = err;
      }
      expect(isCairnError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
