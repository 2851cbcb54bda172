/** Round robin: eligible instances in turn, starting at a random position. */
import { type Balancer, type BalancerOptions, eligible, type Instance, randomIndex } from './types.js';

/** Picks eligible instances one after another, ignoring weights and keys. */
export class RoundRobinBalancer implements Balancer {
  private readonly random: () => number;
  private instances: Instance[] = [];
  private cursor: number | undefined;

  constructor(options: BalancerOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  /** Replaces the instance set; the cursor keeps its position. */
  update(instances: readonly Instance[]): void {
    this.instances = eligible(instances);
  }

  /** The next eligible instance in turn. */
  pick(): Instance | undefined {
    const n = this.instances.length;
    if (n === 0) return undefined;
    if (this.cursor === undefined) this.cursor = randomIndex(this.random, n);
    const chosen = this.instances[this.cursor % n];
    this.cursor = (this.cursor + 1) % n;
    return chosen;
  }
}
