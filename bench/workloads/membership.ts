/**
 * Membership propagation: 1,000 instances register (8 at a time, all on one lease) while one
 * subscriber per pool channel follows the service. Cairn: MembershipService.Register and
 * Subscribe. etcd, as its equivalent: a put of the instance's key (with the lease) under a
 * prefix and a prefix watch per subscriber. Latency: from the registration's acknowledgement
 * until the LAST subscriber has seen it (0 when all saw it before the acknowledgement).
 */
import type * as grpc from '@grpc/grpc-js';
import { bytes, newLeaseId, prefixEnd, unary, type Wire } from '../grpc.js';
import { Latencies } from '../histogram.js';
import {
  forEachLimited,
  type Measured,
  RUN_LEASE_TTL_SECONDS,
  type RunContext,
  type Workload,
} from '../workload.js';
import { openWatchers } from './watch.js';

/** Registrations in flight. */
const REGISTRARS = 8;
/** How long to wait at the end for subscribers to see the last registrations. */
const SETTLE_TIMEOUT_MS = 10_000;

async function openSubscribers(
  ctx: RunContext,
  service: string,
  onSeen: (instanceId: string) => void,
): Promise<{ cancel(): void }> {
  const calls: grpc.ClientReadableStream<Wire>[] = [];
  await Promise.all(
    Array.from({ length: ctx.pool.size }, (_, s) => {
      const call = (ctx.pool.stubsFor(s).membership as Wire).Subscribe({
        service,
        prefix: false,
        from_revision: 0,
      }) as grpc.ClientReadableStream<Wire>;
      calls.push(call);
      return new Promise<void>((resolve, reject) => {
        call.on('data', (m: Wire) => {
          if (m.snapshot_done) resolve();
          for (const c of m.changes) onSeen(c.instance.instance_id);
        });
        call.on('error', (err: Error) => reject(err));
      });
    }),
  );
  return {
    cancel() {
      for (const c of calls) c.cancel();
    },
  };
}

async function propagate(ctx: RunContext): Promise<Measured> {
  const instances = ctx.quick ? 50 : 1000;
  const subscribers = ctx.pool.size;
  const service = `bench-svc-${ctx.system}-${Date.now()}`;
  const prefix = `bench/members/${service}/`;
  const latencies = new Latencies();
  const state = new Map<string, { seen: number; lastSeenAt: number; ackAt?: number }>();
  let complete = 0;
  let allDone: (() => void) | undefined;
  const record = (e: { lastSeenAt: number; ackAt?: number }): void => {
    latencies.recordMs(Math.max(0, e.lastSeenAt - e.ackAt!));
    if (++complete === instances) allDone?.();
  };
  const onSeen = (id: string): void => {
    let e = state.get(id);
    if (!e) {
      e = { seen: 0, lastSeenAt: 0 };
      state.set(id, e);
    }
    e.lastSeenAt = performance.now();
    if (++e.seen === subscribers && e.ackAt !== undefined) record(e);
  };
  const lease = (
    await unary(
      ctx.pool.stubsFor(0).lease,
      'LeaseGrant',
      { TTL: RUN_LEASE_TTL_SECONDS, ID: newLeaseId() },
      10_000,
    )
  ).ID;
  const handle =
    ctx.system === 'cairn'
      ? await openSubscribers(ctx, service, onSeen)
      : await openWatchers(ctx, subscribers, bytes(prefix), prefixEnd(prefix), (ev) =>
          onSeen(ev.kv.key.toString().slice(prefix.length)),
        );
  let errors = 0;
  const started = performance.now();
  try {
    await forEachLimited(instances, REGISTRARS, async (i, w) => {
      const id = `i-${i}`;
      const address = `10.0.${i >> 8}.${i & 255}:8080`;
      const stubs = ctx.pool.stubsFor(w);
      try {
        if (ctx.system === 'cairn')
          await unary(stubs.membership, 'Register', { service, instance_id: id, address, lease });
        else
          await unary(stubs.kv, 'Put', {
            key: bytes(prefix + id),
            value: bytes(JSON.stringify({ address })),
            lease,
          });
      } catch {
        errors++;
        return;
      }
      let e = state.get(id);
      if (!e) {
        e = { seen: 0, lastSeenAt: 0 };
        state.set(id, e);
      }
      e.ackAt = performance.now();
      if (e.seen === subscribers) record(e);
    });
    if (complete < instances - errors)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SETTLE_TIMEOUT_MS);
        allDone = () => {
          clearTimeout(timer);
          resolve();
        };
      });
  } finally {
    handle.cancel();
  }
  errors += instances - errors - complete;
  return {
    ops: complete,
    seconds: (performance.now() - started) / 1000,
    latencies,
    errors,
    variant:
      ctx.system === 'cairn' ? 'MembershipService Register/Subscribe' : 'Put with lease + prefix Watch',
  };
}

/** The membership propagation workload. */
export const membershipWorkloads: readonly Workload[] = [
  {
    id: 'membership',
    title: 'membership propagation, 1,000 instances',
    description:
      'register 1,000 instances (50 with --quick), 8 at a time, one subscriber per channel; Cairn: MembershipService Register + Subscribe; etcd: Put under a prefix with a lease + prefix Watch; latency: registration acknowledged to seen by every subscriber',
    run: propagate,
  },
];
