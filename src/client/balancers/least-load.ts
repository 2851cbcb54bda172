/**
 * Least load: power of two choices over the load instances report about themselves. The score
 * is calls per unit of idle capacity, (inFlight + 1) / (weight * max(1 - cpu, 0.01)): with a
 * queue's time in system growing as 1 / (1 - utilisation), an instance at 90% cpu with one
 * call in flight looks as busy as an idle one with ten; weight divides as elsewhere. An
 * instance without a (finite) report is scored as if it reported the mean of the others'
 * reports, so a newcomer neither draws a flood nor starves; `unreportedLoad` overrides that,
 * and when nobody reports every instance scores by weight alone. Reports arrive with update().
 */
import { pickOfTwo } from './power-of-two.js';
import {
  type Balancer,
  type BalancerOptions,
  eligible,
  type Instance,
  type InstanceLoad,
  weightOf,
} from './types.js';

/** The lowest idle fraction a score divides by, so a saturated instance scores high, not infinite. */
const MIN_IDLE_FRACTION = 0.01;

/** Options for LeastLoadBalancer. */
export interface LeastLoadOptions extends BalancerOptions {
  /** The load assumed for instances that report none; defaults to the mean of the reports. */
  unreportedLoad?: InstanceLoad;
}

/** The least-load score of `load` on an instance of `weight`; lower is better. */
export function loadScore(load: InstanceLoad, weight: number): number {
  const cpu = Math.min(1, Math.max(0, load.cpu));
  const inFlight = Math.max(0, load.inFlight);
  return (inFlight + 1) / (weight * Math.max(1 - cpu, MIN_IDLE_FRACTION));
}

/** The report of `instance` when it has a usable one. */
function reported(instance: Instance): InstanceLoad | undefined {
  const load = instance.load;
  if (load === undefined || !Number.isFinite(load.inFlight) || !Number.isFinite(load.cpu)) return undefined;
  return load;
}

/** Power-of-two-choices balancer over reported load. */
export class LeastLoadBalancer implements Balancer {
  private readonly random: () => number;
  private readonly unreportedLoad: InstanceLoad | undefined;
  private instances: Instance[] = [];
  private scores = new Map<string, number>();

  constructor(options: LeastLoadOptions = {}) {
    this.random = options.random ?? Math.random;
    this.unreportedLoad = options.unreportedLoad;
  }

  /** Replaces the instance set and rescores it from the reports it carries. */
  update(instances: readonly Instance[]): void {
    this.instances = eligible(instances);
    const reports = this.instances.flatMap((i) => reported(i) ?? []);
    const fallback = this.unreportedLoad ?? {
      inFlight: reports.reduce((sum, r) => sum + r.inFlight, 0) / Math.max(1, reports.length),
      cpu: reports.reduce((sum, r) => sum + r.cpu, 0) / Math.max(1, reports.length),
    };
    this.scores = new Map(this.instances.map((i) => [i.id, loadScore(reported(i) ?? fallback, weightOf(i))]));
  }

  /** The score an instance was given at the last update (undefined when it is not eligible). */
  scoreOf(id: string): number | undefined {
    return this.scores.get(id);
  }

  /** The less loaded of two randomly sampled eligible instances (the first on a tie). */
  pick(): Instance | undefined {
    return pickOfTwo(this.instances, this.random, (i) => this.scores.get(i.id) as number);
  }
}
