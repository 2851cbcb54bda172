/**
 * The shared vocabulary of the client-side balancers: what an instance looks like, the one
 * interface every balancer implements, and helpers they all use. Pure: no timers, no I/O.
 */

/** Whether an instance takes new work; only SERVING instances are ever picked. */
export type InstanceState = 'SERVING' | 'DRAINING' | 'DOWN';

/** Load an instance reports about itself. */
export interface InstanceLoad {
  /** Calls currently in flight on the instance. */
  inFlight: number;
  /** CPU utilisation in [0, 1]. */
  cpu: number;
}

/** One member of a service as the balancers see it. */
export interface Instance {
  /** Stable identity; hashing balancers key their placement on it. */
  id: string;
  /** Where to send calls (host:port). */
  address: string;
  /** Relative share of traffic; defaults to 1, and 0 or less means no traffic. */
  weight?: number;
  /** Serving state; DRAINING and DOWN instances are never picked. */
  state: InstanceState;
  /** Optional zone or locality label. */
  zone?: string;
  /** Optional self-reported load. */
  load?: InstanceLoad;
}

/** A balancer over a changing set of instances. */
export interface Balancer {
  /** Replaces the set of instances the balancer chooses from. */
  update(instances: readonly Instance[]): void;
  /** Picks an instance (for hashing balancers, the one owning `key`); undefined when none is eligible. */
  pick(key?: string): Instance | undefined;
}

/** Options shared by every balancer. */
export interface BalancerOptions {
  /** A source of numbers in [0, 1); defaults to Math.random. Inject one for deterministic tests. */
  random?: () => number;
}

/** The weight of an instance with the default of 1 applied. */
export function weightOf(instance: Instance): number {
  return instance.weight ?? 1;
}

/** The instances that may be picked: SERVING with a positive weight. */
export function eligible(instances: readonly Instance[]): Instance[] {
  return instances.filter((i) => i.state === 'SERVING' && weightOf(i) > 0);
}

/** A uniformly random index in [0, length) drawn from `random`. */
export function randomIndex(random: () => number, length: number): number {
  return Math.min(length - 1, Math.floor(random() * length));
}
