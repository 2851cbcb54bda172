/**
 * Smooth weighted round robin (nginx's algorithm): every pick adds each instance's weight to
 * its current weight, takes the largest, and subtracts the total from it, so heavy instances
 * are spread out rather than picked in bursts.
 */
import { type Balancer, eligible, type Instance, weightOf } from './types.js';

/** Weighted round robin whose picks interleave in proportion to weight. */
export class SmoothWeightedBalancer implements Balancer {
  private instances: Instance[] = [];
  private current = new Map<string, number>();

  /** Replaces the instance set; instances that stay keep their current weight. */
  update(instances: readonly Instance[]): void {
    this.instances = eligible(instances);
    const next = new Map<string, number>();
    for (const i of this.instances) next.set(i.id, this.current.get(i.id) ?? 0);
    this.current = next;
  }

  /** The next instance in the weighted, interleaved sequence. */
  pick(): Instance | undefined {
    let best: Instance | undefined;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (const i of this.instances) {
      const w = weightOf(i);
      total += w;
      const c = (this.current.get(i.id) ?? 0) + w;
      this.current.set(i.id, c);
      if (c > bestCurrent) {
        best = i;
        bestCurrent = c;
      }
    }
    if (best !== undefined) this.current.set(best.id, bestCurrent - total);
    return best;
  }
}
