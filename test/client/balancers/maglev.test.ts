/**
 * Proves the Maglev table: sizes must be prime; with equal weights every instance owns the same
 * number of entries give or take one (default 65,537 and a small 5,003); 20,000 keys land
 * within 8% of the mean; adding or removing one of 10 instances moves the keys it gains or
 * loses plus at most 2% of the others; weights scale entries; exclusions hold.
 */
import { describe, expect, test } from 'vitest';
import { isPrime, MaglevBalancer } from '../../../src/client/balancers/maglev.js';
import { isCairnError } from '../../../src/common/errors.js';
import { inst, keys, many, seeded, tally } from './fixtures.js';

const KEYS = keys(20000);
const SMALL_PRIME = 5003;

function owners(b: MaglevBalancer): string[] {
  return KEYS.map((k) => b.pick(k)?.id ?? 'none');
}

describe('MaglevBalancer', () => {
  test('a table size that is not prime is refused', () => {
    expect(isPrime(65537)).toBe(true);
    expect(isPrime(5003)).toBe(true);
    expect(isPrime(65536)).toBe(false);
    let caught: unknown;
    try {
      new MaglevBalancer({ tableSize: 1000 });
    } catch (err) {
      caught = err;
    }
    expect(isCairnError(caught, 'INVALID_ARGUMENT')).toBe(true);
  });

  test('equal weights own equal table entries, give or take one', () => {
    for (const tableSize of [65537, SMALL_PRIME]) {
      const b = new MaglevBalancer({ tableSize });
      b.update(many(9));
      const counts = [...b.entryCounts().values()];
      expect(counts).toHaveLength(9);
      expect(counts.reduce((x, y) => x + y, 0)).toBe(tableSize);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  test('keys spread within 8% of the mean, independent of input order', () => {
    const b = new MaglevBalancer({ tableSize: SMALL_PRIME });
    b.update(many(10));
    const spread = tally(KEYS.map((k) => b.pick(k)));
    expect(spread.size).toBe(10);
    for (const c of spread.values()) expect(Math.abs(c - 2000)).toBeLessThan(160);
    const reversed = new MaglevBalancer({ tableSize: SMALL_PRIME });
    reversed.update(many(10).reverse());
    expect(owners(reversed)).toEqual(owners(b));
  });

  test('adding an instance moves about 1/N of the keys and at most 2% elsewhere', () => {
    const b = new MaglevBalancer({ tableSize: SMALL_PRIME });
    b.update(many(10));
    const before = owners(b);
    b.update(many(11));
    const after = owners(b);
    const toNew = after.filter((id, k) => id !== before[k] && id === 'i10').length / KEYS.length;
    const elsewhere = after.filter((id, k) => id !== before[k] && id !== 'i10').length / KEYS.length;
    expect(toNew).toBeGreaterThan(0.8 / 11);
    expect(toNew).toBeLessThan(1.2 / 11);
    expect(elsewhere).toBeLessThan(0.02);
  });

  test("removing or downing an instance moves all its keys and at most 2% of the others'", () => {
    const b = new MaglevBalancer({ tableSize: SMALL_PRIME });
    b.update(many(10));
    const before = owners(b);
    for (const next of [
      many(10).filter((i) => i.id !== 'i3'),
      many(10).map((i) => (i.id === 'i3' ? { ...i, state: 'DOWN' as const } : i)),
    ]) {
      b.update(next);
      const after = owners(b);
      expect(after.filter((id) => id === 'i3')).toHaveLength(0);
      const others = after.filter((id, k) => before[k] !== 'i3' && id !== before[k]).length / KEYS.length;
      expect(others).toBeLessThan(0.02);
    }
  });

  test('weights scale table entries: 3:1 gives three quarters, within 1%', () => {
    const b = new MaglevBalancer({ tableSize: SMALL_PRIME });
    b.update([inst('heavy', 3), inst('light', 1)]);
    const heavy = (b.entryCounts().get('heavy') ?? 0) / SMALL_PRIME;
    expect(Math.abs(heavy - 0.75)).toBeLessThan(0.01);
  });

  test('draining and down are excluded; no key picks a random entry; none eligible gives undefined', () => {
    const b = new MaglevBalancer({ tableSize: 101, random: seeded(11) });
    b.update([inst('a'), inst('b', 1, 'DRAINING'), inst('c', 1, 'DOWN'), inst('d')]);
    expect(new Set(owners(b))).toEqual(new Set(['a', 'd']));
    expect(new Set(Array.from({ length: 100 }, () => b.pick()?.id))).toEqual(new Set(['a', 'd']));
    b.update([inst('c', 1, 'DOWN')]);
    expect(b.pick('k')).toBeUndefined();
    expect(b.pick()).toBeUndefined();
  });
});
