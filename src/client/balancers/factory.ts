/**
 * Builds a balancer from a policy name, as configuration spells it. The names are stable: they
 * are what users write, so a rename is a breaking change. Decorators (outlier ejection, slow
 * start) wrap the result explicitly, since their callers need their own methods.
 */
import { CairnError, ErrorCode } from '../../common/errors.js';
import type { InFlightCounter } from './in-flight.js';
import { IpHashBalancer } from './ip-hash.js';
import { LeastConnectionsBalancer } from './least-connections.js';
import { LeastLoadBalancer } from './least-load.js';
import { MaglevBalancer } from './maglev.js';
import { PowerOfTwoBalancer, type ScoreFn } from './power-of-two.js';
import { RandomBalancer } from './random.js';
import { RingHashBalancer } from './ring-hash.js';
import { RoundRobinBalancer } from './round-robin.js';
import { SmoothWeightedBalancer } from './smooth-weighted.js';
import type { Balancer, BalancerOptions, InstanceLoad } from './types.js';
import { WeightedRandomBalancer } from './weighted-random.js';

/** Every policy name createBalancer accepts, in one list so configuration can be validated. */
export const BALANCER_POLICIES = [
  'round_robin',
  'weighted_round_robin',
  'random',
  'weighted_random',
  'least_connections',
  'least_load',
  'power_of_two',
  'ip_hash',
  'ring_hash',
  'maglev',
] as const;

/** A balancing policy by its stable configuration name. */
export type BalancerPolicy = (typeof BALANCER_POLICIES)[number];

/** Options for createBalancer; each policy reads the ones it understands and ignores the rest. */
export interface CreateBalancerOptions extends BalancerOptions {
  /** least_connections, power_of_two: the in-flight counter to read (shared with the SDK). */
  counter?: InFlightCounter;
  /** power_of_two: the score to compare; defaults to in-flight calls per unit of weight. */
  score?: ScoreFn;
  /** least_load: the load assumed for instances that report none. */
  unreportedLoad?: InstanceLoad;
  /** ring_hash: virtual nodes per unit of weight. */
  virtualNodesPerWeight?: number;
  /** maglev: the lookup table size (prime). */
  tableSize?: number;
}

/** Whether `name` is a policy createBalancer accepts. */
export function isBalancerPolicy(name: string): name is BalancerPolicy {
  return (BALANCER_POLICIES as readonly string[]).includes(name);
}

/** A new balancer for `policy`; an unknown name (from unchecked configuration) is INVALID_ARGUMENT. */
export function createBalancer(policy: BalancerPolicy, options: CreateBalancerOptions = {}): Balancer {
  switch (policy) {
    case 'round_robin':
      return new RoundRobinBalancer(options);
    case 'weighted_round_robin':
      return new SmoothWeightedBalancer();
    case 'random':
      return new RandomBalancer(options);
    case 'weighted_random':
      return new WeightedRandomBalancer(options);
    case 'least_connections':
      return new LeastConnectionsBalancer(options);
    case 'least_load':
      return new LeastLoadBalancer(options);
    case 'power_of_two':
      return new PowerOfTwoBalancer(options);
    case 'ip_hash':
      return new IpHashBalancer(options);
    case 'ring_hash':
      return new RingHashBalancer(options);
    case 'maglev':
      return new MaglevBalancer(options);
    default:
      throw new CairnError(ErrorCode.INVALID_ARGUMENT, `unknown balancer policy ${String(policy)}`);
  }
}
