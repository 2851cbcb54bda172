/**
 * Proves the IP hash balancer: a client address always maps to the same instance, IPv4
 * clients in one /24 share an instance (as in nginx), 3,000 /24s spread over 6 instances within
 * 20% of the mean; when an instance goes DOWN or DRAINING only its clients move, and they
 * return when it comes back; exclusions and the empty case hold.
 */
import { describe, expect, test } from 'vitest';
import { addressHashKey, IpHashBalancer } from '../../../src/client/balancers/ip-hash.js';
import { inst, many, seeded, tally } from './fixtures.js';

const CLIENTS = Array.from({ length: 3000 }, (_, k) => `10.${(k >> 8) & 255}.${k & 255}.7`);

function owners(b: IpHashBalancer): string[] {
  return CLIENTS.map((c) => b.pick(c)?.id ?? 'none');
}

describe('IpHashBalancer', () => {
  test('IPv4 hashes on the /24, IPv6 and names whole', () => {
    expect(addressHashKey('192.168.1.20')).toBe('192.168.1');
    expect(addressHashKey('::ffff:192.168.1.20')).toBe('192.168.1');
    expect(addressHashKey('2001:DB8::1')).toBe('2001:db8::1');
    const b = new IpHashBalancer();
    b.update(many(6));
    expect(b.pick('192.168.1.20')?.id).toBe(b.pick('192.168.1.99')?.id);
    expect(b.pick('2001:db8::1')?.id).toBe(b.pick('2001:db8::1')?.id);
  });

  test('clients spread within 20% of the mean, independent of input order', () => {
    const b = new IpHashBalancer();
    b.update(many(6));
    const spread = tally(CLIENTS.map((c) => b.pick(c)));
    expect(spread.size).toBe(6);
    for (const n of spread.values()) expect(Math.abs(n - 500)).toBeLessThan(100);
    const reversed = new IpHashBalancer();
    reversed.update(many(6).reverse());
    expect(owners(reversed)).toEqual(owners(b));
  });

  test("a DOWN or DRAINING instance's clients move elsewhere, nobody else moves, and they return", () => {
    const b = new IpHashBalancer();
    b.update(many(6));
    const before = owners(b);
    for (const state of ['DOWN', 'DRAINING'] as const) {
      b.update(many(6).map((i) => (i.id === 'i2' ? { ...i, state } : i)));
      const after = owners(b);
      const wrong = after.filter((id, k) => (before[k] === 'i2' ? id === 'i2' : id !== before[k]));
      expect(wrong).toEqual([]);
      expect(after.filter((id) => id === 'i2')).toHaveLength(0);
    }
    b.update(many(6));
    expect(owners(b)).toEqual(before);
  });

  test('without a key it picks a random serving instance; none serving gives undefined', () => {
    const b = new IpHashBalancer({ random: seeded(12) });
    b.update([inst('a'), inst('b', 1, 'DOWN'), inst('c', 1, 'DRAINING'), inst('d')]);
    expect(new Set(Array.from({ length: 100 }, () => b.pick()?.id))).toEqual(new Set(['a', 'd']));
    expect(new Set(owners(b))).toEqual(new Set(['a', 'd']));
    b.update([inst('b', 1, 'DOWN')]);
    expect(b.pick('10.0.0.1')).toBeUndefined();
    expect(b.pick()).toBeUndefined();
    b.update([]);
    expect(b.pick('10.0.0.1')).toBeUndefined();
  });
});
