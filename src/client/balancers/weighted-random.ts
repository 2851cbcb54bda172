/**
 * Weighted random: an instance is picked with probability weight / total weight. update()
 * builds the running totals of the weights; pick() draws a point in [0, total) and finds the
 * first running total above it by binary search, so a pick costs O(log n).
 */
import { type Balancer, type BalancerOptions, eligible, type Instance, weightOf } from './types.js';

/** Picks eligible instances at random in proportion to their weights. */
export class WeightedRandomBalancer implements Balancer {
  private readonly random: () => number;
  private instances: Instance[] = [];
  /** Invariant: cumulative[i] is the sum of the weights of instances[0..i], strictly increasing. */
  private cumulative: Float64Array = new Float64Array(0);

  constructor(options: BalancerOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  /** Replaces the instance set and rebuilds the running totals. */
  update(instances: readonly Instance[]): void {
    this.instances = eligible(instances);
    this.cumulative = new Float64Array(this.instances.length);
    let total = 0;
    this.instances.forEach((instance, i) => {
      total += weightOf(instance);
      this.cumulative[i] = total;
    });
  }

  /** An eligible instance drawn in proportion to weight. */
  pick(): Instance | undefined {
    const n = this.instances.length;
    if (n === 0) return undefined;
    const point = this.random() * (this.cumulative[n - 1] as number);
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) <= point) lo = mid + 1;
      else hi = mid;
    }
    return this.instances[lo];
  }
}
