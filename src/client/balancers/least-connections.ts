/**
 * Least connections by power of two choices: sample two distinct eligible instances at random
 * and take the one with fewer in-flight calls per unit of weight. The SDK brackets each call
 * with begin(id) / end(id) on an InFlightCounter, which balancers may share.
 */
import { InFlightCounter } from './in-flight.js';
import { inFlightScore, pickOfTwo, type ScoreFn } from './power-of-two.js';
import { type Balancer, type BalancerOptions, eligible, type Instance } from './types.js';

export { InFlightCounter } from './in-flight.js';

/** Options for LeastConnectionsBalancer. */
export interface LeastConnectionsOptions extends BalancerOptions {
  /** The counter to read; a private one is created when omitted. */
  counter?: InFlightCounter;
}

/** Power-of-two-choices least-connections balancer. */
export class LeastConnectionsBalancer implements Balancer {
  private readonly random: () => number;
  /** The in-flight counter this balancer reads (call begin/end on it, or on the balancer). */
  readonly counter: InFlightCounter;
  private readonly score: ScoreFn;
  private instances: Instance[] = [];

  constructor(options: LeastConnectionsOptions = {}) {
    this.random = options.random ?? Math.random;
    this.counter = options.counter ?? new InFlightCounter();
    this.score = inFlightScore(this.counter);
  }

  /** Replaces the instance set. */
  update(instances: readonly Instance[]): void {
    this.instances = eligible(instances);
  }

  /** Records that a call to `id` started. */
  begin(id: string): void {
    this.counter.begin(id);
  }

  /** Records that a call to `id` finished. */
  end(id: string): void {
    this.counter.end(id);
  }

  /** The less loaded of two randomly sampled eligible instances (the first on a tie). */
  pick(): Instance | undefined {
    return pickOfTwo(this.instances, this.random, this.score);
  }
}
