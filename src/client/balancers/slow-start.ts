/**
 * Slow start (after Envoy's): a decorator that ramps a newly eligible instance's weight over
 * `windowMs`, so a cold instance (empty caches, unwarmed JIT) is not handed a full share at
 * once. Inside the window the inner balancer sees weight x max(minWeightPercent / 100,
 * (elapsed / windowMs) ^ (1 / aggression)); aggression above 1 ramps faster early on. An
 * instance ramps when it joins or returns to SERVING after the first update (the instances a
 * client starts with are taken as warm). The inner balancer is re-fed at most once per
 * `refreshMs` while something ramps, checked on pick against the injected clock, so hashing
 * balancers rebuild a bounded number of times. Only weight-aware inner balancers ramp:
 * round_robin and random ignore weights.
 */
import { CairnError, ErrorCode } from '../../common/errors.js';
import { type Balancer, eligible, type Instance, weightOf } from './types.js';

/** Options for SlowStartBalancer. */
export interface SlowStartOptions {
  /** How long a new instance ramps for (Envoy's slow_start_window). */
  windowMs: number;
  /** The ramp's curve: 1 is linear, larger climbs faster at first; defaults to 1. */
  aggression?: number;
  /** The weight a ramp starts from, in percent of the full weight; defaults to 10. */
  minWeightPercent?: number;
  /** How often the inner balancer sees new weights while a ramp runs; defaults to windowMs / 20. */
  refreshMs?: number;
  /** The clock in milliseconds; defaults to Date.now. Inject one for deterministic tests. */
  now?: () => number;
}

/** Wraps a balancer so newly eligible instances take a growing share over a window. */
export class SlowStartBalancer implements Balancer {
  private readonly windowMs: number;
  private readonly aggression: number;
  private readonly minWeightFraction: number;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private all: Instance[] = [];
  private seenFirstUpdate = false;
  /** Invariant: holds only ids eligible at the last update whose ramp had not ended at the last refresh. */
  private rampStartMs = new Map<string, number>();
  private eligibleIds = new Set<string>();
  private nextRefreshMs = Number.POSITIVE_INFINITY;

  constructor(
    /** The balancer that chooses, seeing ramped weights. */
    readonly inner: Balancer,
    options: SlowStartOptions,
  ) {
    this.windowMs = options.windowMs;
    this.aggression = options.aggression ?? 1;
    this.minWeightFraction = (options.minWeightPercent ?? 10) / 100;
    this.refreshMs = options.refreshMs ?? this.windowMs / 20;
    this.now = options.now ?? Date.now;
    if (!(this.windowMs > 0) || !(this.aggression > 0) || !(this.refreshMs > 0)) {
      throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'windowMs, aggression and refreshMs must be positive');
    }
    if (!(this.minWeightFraction > 0 && this.minWeightFraction <= 1)) {
      throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'minWeightPercent must be within (0, 100]');
    }
  }

  /** Replaces the instance set; instances that were not eligible before and are now start a ramp. */
  update(instances: readonly Instance[]): void {
    const now = this.now();
    const nowEligible = new Set(eligible(instances).map((i) => i.id));
    const ramps = new Map<string, number>();
    for (const id of nowEligible) {
      const started = this.rampStartMs.get(id);
      if (started !== undefined) ramps.set(id, started);
      else if (this.seenFirstUpdate && !this.eligibleIds.has(id)) ramps.set(id, now);
    }
    this.seenFirstUpdate = true;
    this.all = [...instances];
    this.eligibleIds = nowEligible;
    this.rampStartMs = ramps;
    this.refresh(now);
  }

  /** The inner balancer's pick, after re-feeding it ramped weights when a refresh is due. */
  pick(key?: string): Instance | undefined {
    const now = this.now();
    if (now >= this.nextRefreshMs) this.refresh(now);
    return this.inner.pick(key);
  }

  /** The fraction of its weight `id` gets at `atMs` (1 when it is not ramping). */
  rampFraction(id: string, atMs = this.now()): number {
    const started = this.rampStartMs.get(id);
    if (started === undefined || atMs - started >= this.windowMs) return 1;
    const progress = Math.max(0, atMs - started) / this.windowMs;
    return Math.max(this.minWeightFraction, progress ** (1 / this.aggression));
  }

  /** The ids still ramping (for inspection and tests). */
  rampingIds(): string[] {
    return [...this.rampStartMs.keys()].sort();
  }

  /** Ends finished ramps and hands the inner balancer the current weights. */
  private refresh(now: number): void {
    for (const [id, started] of this.rampStartMs)
      if (now - started >= this.windowMs) this.rampStartMs.delete(id);
    // The next refresh comes a step later, or when the first ramp ends if that is sooner.
    const firstEndMs = Math.min(...[...this.rampStartMs.values()].map((started) => started + this.windowMs));
    this.nextRefreshMs =
      this.rampStartMs.size === 0 ? Number.POSITIVE_INFINITY : Math.min(now + this.refreshMs, firstEndMs);
    this.inner.update(
      this.all.map((i) =>
        this.rampStartMs.has(i.id) ? { ...i, weight: weightOf(i) * this.rampFraction(i.id, now) } : i,
      ),
    );
  }
}
