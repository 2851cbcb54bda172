/** Uniform random: every eligible instance equally likely, ignoring weights and keys. */
import { type Balancer, type BalancerOptions, eligible, type Instance, randomIndex } from './types.js';

/** Picks an eligible instance uniformly at random. */
export class RandomBalancer implements Balancer {
  private readonly random: () => number;
  private instances: Instance[] = [];

  constructor(options: BalancerOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  /** Replaces the instance set. */
  update(instances: readonly Instance[]): void {
    this.instances = eligible(instances);
  }

  /** A uniformly random eligible instance. */
  pick(): Instance | undefined {
    const n = this.instances.length;
    return n === 0 ? undefined : this.instances[randomIndex(this.random, n)];
  }
}
