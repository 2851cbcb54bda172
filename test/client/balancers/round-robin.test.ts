/**
 * Proves round robin visits every eligible instance exactly once per cycle, never picks a
 * DRAINING, DOWN or zero-weight instance, and gives undefined when nothing is eligible; when
 * membership changes, the very next cycle covers exactly the new set (a removed instance gets
 * nothing more, a newcomer its one share per cycle, the others keep theirs).
 */
import { describe, expect, test } from 'vitest';
import { RoundRobinBalancer } from '../../../src/client/balancers/round-robin.js';
import { inst, many, seeded, tally } from './fixtures.js';

describe('RoundRobinBalancer', () => {
  test('each cycle of n picks visits all n instances once', () => {
    const b = new RoundRobinBalancer({ random: seeded(1) });
    b.update(many(5));
    const picks = Array.from({ length: 50 }, () => b.pick());
    for (let c = 0; c < 10; c++) {
      expect(new Set(picks.slice(c * 5, c * 5 + 5).map((p) => p?.id)).size).toBe(5);
    }
    expect([...tally(picks).values()]).toEqual([10, 10, 10, 10, 10]);
  });

  test('draining, down and zero-weight instances are never picked', () => {
    const b = new RoundRobinBalancer({ random: seeded(2) });
    b.update([inst('a'), inst('b', 1, 'DRAINING'), inst('c', 1, 'DOWN'), inst('d'), inst('e', 0)]);
    const ids = new Set(Array.from({ length: 20 }, () => b.pick()?.id));
    expect(ids).toEqual(new Set(['a', 'd']));
  });

  test('empty or all-excluded sets give undefined', () => {
    const b = new RoundRobinBalancer();
    expect(b.pick()).toBeUndefined();
    b.update([inst('a', 1, 'DOWN'), inst('b', 1, 'DRAINING')]);
    expect(b.pick()).toBeUndefined();
    b.update([]);
    expect(b.pick()).toBeUndefined();
  });

  test('the random start offset comes from the injected source', () => {
    const first = (r: number) => {
      const b = new RoundRobinBalancer({ random: () => r });
      b.update(many(4));
      return b.pick()?.id;
    };
    expect(first(0)).toBe('i0');
    expect(first(0.99)).toBe('i3');
  });

  test('after a membership change the very next cycle covers exactly the new set', () => {
    const b = new RoundRobinBalancer({ random: seeded(3) });
    b.update(many(5));
    for (let k = 0; k < 7; k++) b.pick();
    // i2 leaves: every following cycle of 4 visits the other four once.
    b.update(many(5).filter((i) => i.id !== 'i2'));
    const without = Array.from({ length: 40 }, () => b.pick()?.id);
    for (let c = 0; c < 10; c++) {
      expect(new Set(without.slice(c * 4, c * 4 + 4))).toEqual(new Set(['i0', 'i1', 'i3', 'i4']));
    }
    // A newcomer joins and i1 goes DOWN: each cycle of 4 is the new set, once each.
    b.update([...many(5).filter((i) => i.id !== 'i2' && i.id !== 'i1'), inst('new'), inst('i1', 1, 'DOWN')]);
    const after = Array.from({ length: 40 }, () => b.pick()?.id);
    for (let c = 0; c < 10; c++) {
      expect(new Set(after.slice(c * 4, c * 4 + 4))).toEqual(new Set(['i0', 'i3', 'i4', 'new']));
    }
  });
});
