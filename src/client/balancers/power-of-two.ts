/**
 * Power of two choices (Mitzenmacher): sample two distinct eligible instances at random and
 * take the one with the lower score. Far better than one random pick, and unlike "always the
 * lowest" it does not herd every client onto the same instance between load updates.
 * `pickOfTwo` is the one copy of the choice; least connections and least load supply scores.
 */
import { InFlightCounter } from './in-flight.js';
import {
  type Balancer,
  type BalancerOptions,
  eligible,
  type Instance,
  randomIndex,
  weightOf,
} from './types.js';

/** How loaded an instance looks; lower is better. */
export type ScoreFn = (instance: Instance) => number;

/** The lower-scoring of two distinct instances drawn with `random` (the first on a tie). */
export function pickOfTwo(
  instances: readonly Instance[],
  random: () => number,
  score: ScoreFn,
): Instance | undefined {
  const n = instances.length;
  if (n <= 1) return instances[0];
  const a = randomIndex(random, n);
  let b = randomIndex(random, n - 1);
  if (b >= a) b++;
  const first = instances[a] as Instance;
  const second = instances[b] as Instance;
  return score(second) < score(first) ? second : first;
}

/** In-flight calls per unit of weight, counting the call about to be made. */
export function inFlightScore(counter: InFlightCounter): ScoreFn {
  return (instance) => (counter.get(instance.id) + 1) / weightOf(instance);
}

/** Options for PowerOfTwoBalancer. */
export interface PowerOfTwoOptions extends BalancerOptions {
  /** The score to compare; defaults to in-flight calls per unit of weight read from `counter`. */
  score?: ScoreFn;
  /** The counter the default score reads; a private one is created when omitted. */
  counter?: InFlightCounter;
}

/** A power-of-two-choices balancer over any score. */
export class PowerOfTwoBalancer implements Balancer {
  private readonly random: () => number;
  private readonly score: ScoreFn;
  /** The in-flight counter the default score reads (unused when a score is supplied). */
  readonly counter: InFlightCounter;
  private instances: Instance[] = [];

  constructor(options: PowerOfTwoOptions = {}) {
    this.random = options.random ?? Math.random;
    this.counter = options.counter ?? new InFlightCounter();
    this.score = options.score ?? inFlightScore(this.counter);
  }

  /** Replaces the instance set. */
  update(instances: readonly Instance[]): void {
    this.instances = eligible(instances);
  }

  /** The lower-scoring of two randomly sampled eligible instances. */
  pick(): Instance | undefined {
    return pickOfTwo(this.instances, this.random, this.score);
  }
}
