/**
 * The last few minutes of this member's traffic, one point per second, for the dashboard's
 * charts: gRPC calls handled and failed, entries committed, and call latency (median and
 * 99th percentile of a bounded sample of the second's calls). Bounded in points and samples.
 */

/** One second of traffic. */
export interface SeriesPoint {
  readonly atUnixMs: number;
  readonly calls: number;
  readonly failedCalls: number;
  readonly committedEntries: number;
  /** Undefined when no call ended in that second. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
}

/** Points kept: five minutes. */
export const SERIES_POINTS_MAX = 300;
/** Latencies sampled per second (reservoir sampling beyond it). */
const SAMPLES_PER_SECOND_MAX = 1024;
function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Collects calls as they end and closes a point each second. */
export class RecentSeries {
  private readonly points: SeriesPoint[] = [];
  private calls = 0;
  private failedCalls = 0;
  private samples: number[] = [];
  private seen = 0;
  private lastCommit: number | undefined;

  /**
   * A call ended. Only unary calls are sampled for latency: streams that wait by design
   * (watches, lock and election waits, keep-alives) would swamp it.
   */
  record(durationSeconds: number, ok: boolean, unary: boolean): void {
    this.calls++;
    if (!ok) this.failedCalls++;
    if (!unary) return;
    this.seen++;
    const ms = durationSeconds * 1000;
    if (this.samples.length < SAMPLES_PER_SECOND_MAX) this.samples.push(ms);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < SAMPLES_PER_SECOND_MAX) this.samples[j] = ms;
    }
  }

  /** Closes the current second, given the commit index now. */
  tick(commitIndex: number, nowUnixMs: number): void {
    const sorted = this.samples.sort((a, b) => a - b);
    const committedEntries = this.lastCommit === undefined ? 0 : Math.max(0, commitIndex - this.lastCommit);
    this.lastCommit = commitIndex;
    this.points.push({
      atUnixMs: nowUnixMs,
      calls: this.calls,
      failedCalls: this.failedCalls,
      committedEntries,
      ...(sorted.length > 0 ? { p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) } : {}),
    });
    if (this.points.length > SERIES_POINTS_MAX) this.points.shift();
    this.calls = 0;
    this.failedCalls = 0;
    this.samples = [];
    this.seen = 0;
  }

  /** The points, oldest first. */
  snapshot(): readonly SeriesPoint[] {
    return [...this.points];
  }
}
