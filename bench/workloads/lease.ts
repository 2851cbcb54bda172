/**
 * Lease workloads: granting 10,000 leases (64 at a time), then keeping them alive over one
 * LeaseKeepAlive stream per pool channel, each with a bounded window of renewals in flight.
 */
import type * as grpc from '@grpc/grpc-js';
import type { System } from '../cluster.js';
import { newLeaseId, unary, type Wire } from '../grpc.js';
import { Latencies } from '../histogram.js';
import {
  countedLoop,
  type Measured,
  RUN_LEASE_TTL_SECONDS,
  type RunContext,
  type Workload,
} from '../workload.js';

/** Leases granted per system, for the keep-alive row that follows the grant row. */
const granted = new Map<System, number[]>();
/** Renewals in flight per stream. */
const WINDOW = 32;

function leaseCount(ctx: RunContext): number {
  return ctx.quick ? 200 : 10_000;
}

async function grant(ctx: RunContext): Promise<Measured> {
  const ids: number[] = [];
  const m = await countedLoop(leaseCount(ctx), 64, async (i, w) => {
    const r = await unary(ctx.pool.stubsFor(w).lease, 'LeaseGrant', {
      TTL: RUN_LEASE_TTL_SECONDS,
      ID: newLeaseId(),
    });
    if (r.error) throw new Error(r.error);
    ids[i] = r.ID;
  });
  granted.set(
    ctx.system,
    ids.filter((id) => id !== undefined),
  );
  return m;
}

async function keepAlive(ctx: RunContext): Promise<Measured> {
  if (!granted.get(ctx.system)?.length) await grant(ctx);
  const ids = granted.get(ctx.system)!;
  const latencies = new Latencies();
  let ops = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + ctx.durationMs;
  await Promise.all(
    Array.from({ length: ctx.pool.size }, (_, s) => {
      const mine = ids.filter((_, i) => i % ctx.pool.size === s);
      if (mine.length === 0) return Promise.resolve();
      const call = (ctx.pool.stubsFor(s).lease as Wire).LeaseKeepAlive() as grpc.ClientDuplexStream<
        Wire,
        Wire
      >;
      const sentAt = new Map<number, number>();
      let cursor = 0;
      const sendNext = (): void => {
        for (let tries = 0; tries < mine.length; tries++) {
          const id = mine[cursor++ % mine.length]!;
          if (sentAt.has(id)) continue;
          sentAt.set(id, performance.now());
          call.write({ ID: id });
          return;
        }
      };
      return new Promise<void>((resolve) => {
        call.on('data', (r: Wire) => {
          const t0 = sentAt.get(r.ID);
          if (t0 === undefined) return;
          sentAt.delete(r.ID);
          if (r.TTL > 0) {
            latencies.recordMs(performance.now() - t0);
            ops++;
          } else errors++;
          if (performance.now() < until) sendNext();
          else if (sentAt.size === 0) call.end();
        });
        call.on('error', () => {
          errors++;
          resolve();
        });
        call.on('end', () => resolve());
        call.on('status', () => resolve());
        for (let i = 0; i < Math.min(WINDOW, mine.length); i++) sendNext();
      }).finally(() => call.cancel());
    }),
  );
  return { ops, seconds: (performance.now() - started) / 1000, latencies, errors };
}

/** The lease workloads, in table order. */
export const leaseWorkloads: readonly Workload[] = [
  {
    id: 'lease-grant',
    title: 'lease grant (10,000 leases)',
    description: 'Lease.LeaseGrant, 64 in flight, until 10,000 leases exist (200 with --quick)',
    run: grant,
  },
  {
    id: 'lease-keepalive',
    title: 'lease keep-alive (10,000 leases)',
    description: `Lease.LeaseKeepAlive over one stream per channel, ${WINDOW} renewals in flight per stream, cycling over the granted leases; latency: request to its response`,
    run: keepAlive,
  },
];
