/** Latency recording for the benchmark: an HDR histogram in microseconds, read out in milliseconds. */
import * as hdr from 'hdr-histogram-js';

/** Latency distribution of one workload on one system. */
export class Latencies {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  /** Records one latency (values below 1 µs count as 1 µs). */
  recordMs(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  /** How many latencies were recorded. */
  get count(): number {
    return this.histogram.totalCount;
  }

  /** The latency at percentile q (0..100), in milliseconds; NaN when nothing was recorded. */
  percentileMs(q: number): number {
    return this.count === 0 ? Number.NaN : this.histogram.getValueAtPercentile(q) / 1000;
  }
}
