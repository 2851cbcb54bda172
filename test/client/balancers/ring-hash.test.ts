/**
 * Proves the consistent-hashing ring: the same key always maps to the same instance whatever
 * order instances arrive in; 20,000 keys over 10 instances land within 25% of the mean each;
 * adding an 11th moves between 0.5/11 and 1.5/11 of the keys and every moved key goes to the
 * newcomer; removing or draining one moves only that instance's keys; weight scales share.
 */
import { describe, expect, test } from 'vitest';
import { RingHashBalancer } from '../../../src/client/balancers/ring-hash.js';
import type { Instance } from '../../../src/client/balancers/types.js';
import { inst, keys, many, seeded, tally } from './fixtures.js';

const KEYS = keys(20000);

function owners(b: RingHashBalancer): string[] {
  return KEYS.map((k) => b.pick(k)?.id ?? 'none');
}

function ring(instances: Instance[]): RingHashBalancer {
  const b = new RingHashBalancer({ random: seeded(10) });
  b.update(instances);
  return b;
}

describe('RingHashBalancer', () => {
  test('a key maps to one instance regardless of input order', () => {
    const forward = owners(ring(many(8)));
    const backward = owners(ring(many(8).reverse()));
    expect(backward).toEqual(forward);
  });

  test('keys spread within 25% of the mean over 10 instances', () => {
    const b = ring(many(10));
    const spread = tally(KEYS.map((k) => b.pick(k)));
    expect(spread.size).toBe(10);
    for (const c of spread.values()) expect(Math.abs(c - 2000)).toBeLessThan(500);
  });

  test('adding an instance moves about 1/N of the keys, all to the newcomer', () => {
    const b = ring(many(10));
    const before = owners(b);
    b.update(many(11));
    const after = owners(b);
    const moved = after.filter((id, k) => id !== before[k]);
    expect(moved.every((id) => id === 'i10')).toBe(true);
    expect(moved.length / KEYS.length).toBeGreaterThan(0.5 / 11);
    expect(moved.length / KEYS.length).toBeLessThan(1.5 / 11);
  });

  test('removing, draining or downing an instance moves only its keys', () => {
    const b = ring(many(10));
    const before = owners(b);
    for (const state of ['DRAINING', 'DOWN', 'gone'] as const) {
      const next = many(10).flatMap((i) => (i.id !== 'i3' ? [i] : state === 'gone' ? [] : [{ ...i, state }]));
      b.update(next);
      const after = owners(b);
      const wrong = after.filter((id, k) => (before[k] === 'i3' ? id === 'i3' : id !== before[k]));
      expect(wrong).toEqual([]);
    }
  });

  test('weight 3 against weight 1 takes about three quarters of the keys', () => {
    const b = ring([inst('heavy', 3), inst('light', 1)]);
    const share = (tally(KEYS.map((k) => b.pick(k))).get('heavy') ?? 0) / KEYS.length;
    expect(share).toBeGreaterThan(0.65);
    expect(share).toBeLessThan(0.85);
  });

  test('without a key it picks a random owner; none eligible gives undefined', () => {
    const b = ring([inst('a'), inst('b', 1, 'DOWN'), inst('c', 1, 'DRAINING')]);
    expect(new Set(Array.from({ length: 50 }, () => b.pick()?.id))).toEqual(new Set(['a']));
    b.update([inst('b', 1, 'DOWN')]);
    expect(b.pick('k')).toBeUndefined();
    expect(b.pick()).toBeUndefined();
  });
});
