/**
 * Proves createBalancer over every policy name, table-driven: each name builds its class; every
 * policy, with and without a key, picks only SERVING instances of positive weight, and each of
 * those (equal weights, since P2C always prefers the heavier of two idle instances) over 400
 * seeded picks or keys; it gives undefined when none is eligible or the set is empty; an
 * unknown name from unchecked configuration is INVALID_ARGUMENT.
 */
import { describe, expect, test } from 'vitest';
import {
  BALANCER_POLICIES,
  type Balancer,
  type BalancerPolicy,
  createBalancer,
  IpHashBalancer,
  isBalancerPolicy,
  LeastConnectionsBalancer,
  LeastLoadBalancer,
  MaglevBalancer,
  PowerOfTwoBalancer,
  RandomBalancer,
  RingHashBalancer,
  RoundRobinBalancer,
  SmoothWeightedBalancer,
  WeightedRandomBalancer,
} from '../../../src/client/balancers/index.js';
import { isCairnError } from '../../../src/common/errors.js';
import { inst, keys, seeded } from './fixtures.js';

const CLASSES: Record<BalancerPolicy, abstract new (...args: never[]) => Balancer> = {
  round_robin: RoundRobinBalancer,
  weighted_round_robin: SmoothWeightedBalancer,
  random: RandomBalancer,
  weighted_random: WeightedRandomBalancer,
  least_connections: LeastConnectionsBalancer,
  least_load: LeastLoadBalancer,
  power_of_two: PowerOfTwoBalancer,
  ip_hash: IpHashBalancer,
  ring_hash: RingHashBalancer,
  maglev: MaglevBalancer,
};

const MIXED = [
  inst('a'),
  inst('b', 1, 'DRAINING'),
  inst('c', 1, 'DOWN'),
  inst('d'),
  inst('e', 0),
  inst('f', -1),
];

/** Client addresses for ip_hash, plain keys for the rest. */
function keysFor(policy: BalancerPolicy): string[] {
  return policy === 'ip_hash'
    ? Array.from({ length: 400 }, (_, k) => `10.1.${k % 256}.${k >> 8}`)
    : keys(400);
}

describe('createBalancer', () => {
  test('the policy list is the type, and each name builds its class', () => {
    expect([...BALANCER_POLICIES].sort()).toEqual(Object.keys(CLASSES).sort());
    for (const policy of BALANCER_POLICIES) {
      expect(isBalancerPolicy(policy)).toBe(true);
      expect(createBalancer(policy)).toBeInstanceOf(CLASSES[policy]);
    }
  });

  test.each(BALANCER_POLICIES)('%s picks only SERVING instances of positive weight', (policy) => {
    const b = createBalancer(policy, { random: seeded(61), tableSize: 1009 });
    b.update(MIXED);
    const unkeyed = new Set(Array.from({ length: 400 }, () => b.pick()?.id));
    const keyed = new Set(keysFor(policy).map((k) => b.pick(k)?.id));
    expect(unkeyed).toEqual(new Set(['a', 'd']));
    expect(keyed).toEqual(new Set(['a', 'd']));
  });

  test.each(BALANCER_POLICIES)('%s gives undefined when none is eligible or the set is empty', (policy) => {
    const b = createBalancer(policy, { random: seeded(62), tableSize: 1009 });
    expect(b.pick()).toBeUndefined();
    b.update(MIXED.filter((i) => i.id !== 'a' && i.id !== 'd'));
    expect(b.pick()).toBeUndefined();
    expect(b.pick('10.0.0.1')).toBeUndefined();
    b.update([]);
    expect(b.pick()).toBeUndefined();
    expect(b.pick('key-1')).toBeUndefined();
  });

  test('an unknown policy name is INVALID_ARGUMENT', () => {
    expect(isBalancerPolicy('least_request')).toBe(false);
    let caught: unknown;
    try {
      createBalancer('least_request' as BalancerPolicy);
    } catch (err) {
      caught = err;
    }
    expect(isCairnError(caught, 'INVALID_ARGUMENT')).toBe(true);
  });
});
