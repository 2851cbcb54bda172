/**
 * Outlier ejection (after Envoy's consecutive-5xx detection), as a decorator around any
 * balancer. The SDK reports each call's outcome with onResult(instance, ok). After
 * `consecutiveFailures` failures in a row an instance is ejected: the inner balancer sees it
 * as DOWN for baseEjectionMs times the number of times it has been ejected, capped at
 * maxEjectionMs, and it returns by itself once that time has passed (checked on pick, against
 * the injected clock). Each full baseEjectionMs it then stays in service forgives one past
 * ejection. A success resets the failure count. At most maxEjectionPercent of the eligible
 * instances are ever ejected: an ejection that would pass the cap does not happen (the next
 * failure tries again), and when membership shrinks below the cap the ejections that end
 * soonest end early, so a shrinking service is never left with nothing to call.
 */
import { CairnError, ErrorCode } from '../../common/errors.js';
import { type Balancer, eligible, type Instance } from './types.js';

/** Options for OutlierEjectionBalancer; the defaults follow Envoy's except the percent. */
export interface OutlierEjectionOptions {
  /** Failures in a row that eject an instance; defaults to 5 (Envoy's consecutive_5xx). */
  consecutiveFailures?: number;
  /** The first ejection's length; defaults to 30,000 ms (Envoy's base_ejection_time). */
  baseEjectionMs?: number;
  /** The longest ejection; defaults to 300,000 ms (Envoy's max_ejection_time). */
  maxEjectionMs?: number;
  /** The most of the eligible instances that may be ejected at once, in percent; defaults to 50. */
  maxEjectionPercent?: number;
  /** The clock in milliseconds; defaults to Date.now. Inject one for deterministic tests. */
  now?: () => number;
}

/** What the decorator knows about one instance. */
interface OutlierRecord {
  consecutiveFailures: number;
  /** Ejections not yet forgiven; the next ejection lasts base times this plus one. */
  timesEjected: number;
  /** When the current ejection ends; undefined while in service. */
  ejectedUntilMs: number | undefined;
  /** When the instance was last seen returning or first seen; forgiveness counts from here. */
  inServiceSinceMs: number;
}

/** Wraps a balancer so instances that keep failing are taken out of its choice for a while. */
export class OutlierEjectionBalancer implements Balancer {
  private readonly consecutiveFailures: number;
  private readonly baseEjectionMs: number;
  private readonly maxEjectionMs: number;
  private readonly maxEjectionPercent: number;
  private readonly now: () => number;
  private all: Instance[] = [];
  private eligibleIds = new Set<string>();
  /** Invariant: holds exactly the ids in `all`. */
  private records = new Map<string, OutlierRecord>();

  constructor(
    /** The balancer that chooses among the instances not ejected. */
    readonly inner: Balancer,
    options: OutlierEjectionOptions = {},
  ) {
    this.consecutiveFailures = options.consecutiveFailures ?? 5;
    this.baseEjectionMs = options.baseEjectionMs ?? 30_000;
    this.maxEjectionMs = options.maxEjectionMs ?? Math.max(300_000, this.baseEjectionMs);
    this.maxEjectionPercent = options.maxEjectionPercent ?? 50;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.consecutiveFailures) || this.consecutiveFailures < 1) {
      throw new CairnError(
        ErrorCode.INVALID_ARGUMENT,
        'consecutiveFailures must be an integer of at least 1',
      );
    }
    if (!(this.baseEjectionMs > 0) || !(this.maxEjectionMs >= this.baseEjectionMs)) {
      throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'need 0 < baseEjectionMs <= maxEjectionMs');
    }
    if (!(this.maxEjectionPercent >= 0 && this.maxEjectionPercent <= 100)) {
      throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'maxEjectionPercent must be within [0, 100]');
    }
  }

  /** Replaces the instance set; instances that stay keep their failure count and ejection. */
  update(instances: readonly Instance[]): void {
    const now = this.now();
    this.all = [...instances];
    this.eligibleIds = new Set(eligible(instances).map((i) => i.id));
    const next = new Map<string, OutlierRecord>();
    for (const i of instances) {
      next.set(
        i.id,
        this.records.get(i.id) ?? {
          consecutiveFailures: 0,
          timesEjected: 0,
          ejectedUntilMs: undefined,
          inServiceSinceMs: now,
        },
      );
    }
    this.records = next;
    this.returnExpired(now);
    // Keep the cap as an invariant when membership shrinks: end the soonest-ending ejections.
    const ejected = this.ejectedEligible().sort(
      (a, b) => (a.ejectedUntilMs as number) - (b.ejectedUntilMs as number),
    );
    for (let k = 0; k < ejected.length - this.ejectionCap(); k++)
      this.reinstate(ejected[k] as OutlierRecord, now);
    this.pushToInner();
  }

  /** The inner balancer's pick among the instances not ejected, after returning any whose time is up. */
  pick(key?: string): Instance | undefined {
    if (this.returnExpired(this.now())) this.pushToInner();
    return this.inner.pick(key);
  }

  /** Reports the outcome of a call to `instance`; unknown instances and ejected ones are ignored. */
  onResult(instance: Instance, ok: boolean): void {
    const now = this.now();
    if (this.returnExpired(now)) this.pushToInner();
    const record = this.records.get(instance.id);
    if (record === undefined || record.ejectedUntilMs !== undefined) return;
    if (ok) {
      record.consecutiveFailures = 0;
      return;
    }
    record.consecutiveFailures++;
    if (record.consecutiveFailures < this.consecutiveFailures || !this.eligibleIds.has(instance.id)) return;
    if (this.ejectedEligible().length + 1 > this.ejectionCap()) return;
    const forgiven = Math.floor((now - record.inServiceSinceMs) / this.baseEjectionMs);
    const maxTimes = Math.ceil(this.maxEjectionMs / this.baseEjectionMs);
    record.timesEjected = Math.min(maxTimes, Math.max(0, record.timesEjected - forgiven) + 1);
    record.ejectedUntilMs = now + Math.min(this.maxEjectionMs, this.baseEjectionMs * record.timesEjected);
    record.consecutiveFailures = 0;
    this.pushToInner();
  }

  /** Whether `id` is ejected right now. */
  isEjected(id: string): boolean {
    if (this.returnExpired(this.now())) this.pushToInner();
    return this.records.get(id)?.ejectedUntilMs !== undefined;
  }

  /** The ids ejected right now, sorted (for inspection and tests). */
  ejectedIds(): string[] {
    if (this.returnExpired(this.now())) this.pushToInner();
    return [...this.records].flatMap(([id, r]) => (r.ejectedUntilMs === undefined ? [] : [id])).sort();
  }

  /** How many eligible instances may be ejected at once. */
  private ejectionCap(): number {
    return Math.floor((this.eligibleIds.size * this.maxEjectionPercent) / 100);
  }

  private ejectedEligible(): OutlierRecord[] {
    return [...this.records].flatMap(([id, r]) =>
      r.ejectedUntilMs !== undefined && this.eligibleIds.has(id) ? [r] : [],
    );
  }

  /** Returns instances whose ejection has ended; true when any did. */
  private returnExpired(now: number): boolean {
    let changed = false;
    for (const record of this.records.values()) {
      if (record.ejectedUntilMs !== undefined && record.ejectedUntilMs <= now) {
        this.reinstate(record, record.ejectedUntilMs);
        changed = true;
      }
    }
    return changed;
  }

  private reinstate(record: OutlierRecord, atMs: number): void {
    record.ejectedUntilMs = undefined;
    record.inServiceSinceMs = atMs;
    record.consecutiveFailures = 0;
  }

  /** Hands the inner balancer the instance set with ejected instances marked DOWN. */
  private pushToInner(): void {
    this.inner.update(
      this.all.map((i) =>
        this.records.get(i.id)?.ejectedUntilMs === undefined ? i : { ...i, state: 'DOWN' },
      ),
    );
  }
}
