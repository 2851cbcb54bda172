/**
 * Watch fan-out: 1,000 watchers of one key, spread over one Watch stream per pool channel
 * (so over every member), and one writer that puts the key, waits for its acknowledgement
 * and for every watcher to receive the event, then puts again. Latency: from the put's
 * acknowledgement to each watcher's receipt of the event (0 when the event arrives first).
 */
import type * as grpc from '@grpc/grpc-js';
import { bytes, unary, type Wire } from '../grpc.js';
import { Latencies } from '../histogram.js';
import type { Measured, RunContext, Workload } from '../workload.js';

/** How long the writer waits for every watcher to see one event before it counts the missing ones as errors. */
const DELIVERY_TIMEOUT_MS = 5000;

/** Opens `count` watchers of [key, rangeEnd) over one stream per pool channel; resolves when all are created. */
export async function openWatchers(
  ctx: RunContext,
  count: number,
  key: Buffer,
  rangeEnd: Buffer | undefined,
  onEvent: (ev: Wire, watcher: string) => void,
): Promise<{ cancel(): void }> {
  const streams: grpc.ClientDuplexStream<Wire, Wire>[] = [];
  const created: Promise<void>[] = [];
  for (let s = 0; s < Math.min(ctx.pool.size, count); s++) {
    const n = Math.floor(count / ctx.pool.size) + (s < count % ctx.pool.size ? 1 : 0);
    const call = (ctx.pool.stubsFor(s).watch as Wire).Watch() as grpc.ClientDuplexStream<Wire, Wire>;
    streams.push(call);
    created.push(
      new Promise<void>((resolve, reject) => {
        let ok = 0;
        call.on('data', (r: Wire) => {
          if (r.created && ++ok === n) resolve();
          for (const ev of r.events) onEvent(ev, `${s}/${r.watch_id}`);
        });
        call.on('error', (err: Error) => reject(err));
      }),
    );
    for (let i = 0; i < n; i++)
      call.write({
        create_request: { key, ...(rangeEnd ? { range_end: rangeEnd } : {}), start_revision: 0 },
      });
  }
  await Promise.all(created);
  return {
    cancel() {
      for (const c of streams) c.cancel();
    },
  };
}

async function fanOut(ctx: RunContext): Promise<Measured> {
  const watchers = ctx.quick ? 100 : 1000;
  const key = bytes(`bench/watch/${ctx.system}-${Date.now()}`);
  const latencies = new Latencies();
  /** revision -> ack time (once acknowledged), receipts before the ack, count received. */
  const byRevision = new Map<
    number,
    { ackAt?: number; early: number[]; received: number; done?: () => void }
  >();
  const entry = (rev: number) => {
    let e = byRevision.get(rev);
    if (!e) {
      e = { early: [], received: 0 };
      byRevision.set(rev, e);
    }
    return e;
  };
  let delivered = 0;
  const handle = await openWatchers(ctx, watchers, key, undefined, (ev) => {
    const at = performance.now();
    const e = entry(ev.kv.mod_revision);
    if (e.ackAt === undefined) e.early.push(at);
    else latencies.recordMs(at - e.ackAt);
    delivered++;
    if (++e.received === watchers) e.done?.();
  });
  let errors = 0;
  const value = Buffer.alloc(256, 'w');
  const started = performance.now();
  const until = started + ctx.durationMs;
  try {
    while (performance.now() < until) {
      let r: Wire;
      try {
        r = await unary(ctx.pool.stubsFor(0).kv, 'Put', { key, value });
      } catch {
        errors++;
        continue;
      }
      const ackAt = performance.now();
      const e = entry(r.header.revision);
      e.ackAt = ackAt;
      for (const at of e.early) latencies.recordMs(Math.max(0, at - ackAt));
      e.early = [];
      if (e.received < watchers) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, DELIVERY_TIMEOUT_MS);
          e.done = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      errors += watchers - e.received;
      byRevision.delete(r.header.revision);
    }
  } finally {
    handle.cancel();
  }
  return { ops: delivered, seconds: (performance.now() - started) / 1000, latencies, errors };
}

/** The watch fan-out workload. */
export const watchWorkloads: readonly Workload[] = [
  {
    id: 'watch-fanout',
    title: 'watch fan-out, 1 writer, 1,000 watchers',
    description:
      'one key, 1,000 watchers (100 with --quick) over one Watch stream per channel; the writer puts, then waits until every watcher has the event; ops: events delivered; latency: put acknowledged to event received, per watcher',
    run: fanOut,
  },
];
