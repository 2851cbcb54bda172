/**
 * The put workload: N concurrent clients write 256-byte values as fast as they are
 * acknowledged, for a fixed time, through the etcd3 client; reports throughput and the
 * latency distribution (HDR histogram).
 */
import { Etcd3 } from 'etcd3';
import * as hdr from 'hdr-histogram-js';

/** One row of results. */
export interface PutResult {
  readonly clients: number;
  readonly writes: number;
  readonly seconds: number;
  readonly writesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly errors: number;
}

/** Runs the workload against endpoints for durationMs with `clients` concurrent writers. */
export async function runPuts(
  endpoints: readonly string[],
  clients: number,
  durationMs: number,
): Promise<PutResult> {
  const client = new Etcd3({ hosts: [...endpoints] });
  const value = 'v'.repeat(256);
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  // Warm up the connection (and find the leader).
  for (let i = 0; i < 20; i++) await client.put(`warm/${i}`).value(value).exec();
  let writes = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let i = 0;
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          await client
            .put(`bench/${c}/${i++ % 1000}`)
            .value(value)
            .exec();
          histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          writes++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.close();
  const ms = (q: number) => histogram.getValueAtPercentile(q) / 1000;
  return {
    clients,
    writes,
    seconds,
    writesPerSecond: writes / seconds,
    p50Ms: ms(50),
    p99Ms: ms(99),
    p999Ms: ms(99.9),
    errors,
  };
}
