/**
 * Least connections by power of two choices: sample two distinct eligible instances at random
 * and take the one with fewer in-flight calls per unit of weight. The SDK brackets each call
 * with begin(id) / end(id) on an InFlightCounter, which balancers may share.
 */
import {
  type Balancer,
  type BalancerOptions,
  eligible,
  type Instance,
  randomIndex,
  weightOf,
} from './types.js';

/** Counts calls in flight per instance id. */
export class InFlightCounter {
  private readonly counts = new Map<string, number>();

  /** Records that a call to `id` started. */
  begin(id: string): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** Records that a call to `id` finished; never goes below zero. */
  end(id: string): void {
    const n = (this.counts.get(id) ?? 0) - 1;
    if (n > 0) this.counts.set(id, n);
    else this.counts.delete(id);
  }

  /** Calls currently in flight to `id`. */
  get(id: string): number {
    return this.counts.get(id) ?? 0;
  }
}

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
  private instances: Instance[] = [];

  constructor(options: LeastConnectionsOptions = {}) {
    this.random = options.random ?? Math.random;
    this.counter = options.counter ?? new InFlightCounter();
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
    const n = this.instances.length;
    if (n <= 1) return this.instances[0];
    const a = randomIndex(this.random, n);
    let b = randomIndex(this.random, n - 1);
    if (b >= a) b++;
    const first = this.instances[a] as Instance;
    const second = this.instances[b] as Instance;
    return this.score(second) < this.score(first) ? second : first;
  }

  private score(instance: Instance): number {
    return (this.counter.get(instance.id) + 1) / weightOf(instance);
  }
}
