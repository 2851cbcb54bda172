/**
 * cairn.v1.MembershipService over the service registry recipe: unary calls map to the
 * registry's operations; Subscribe streams the snapshot in bounded chunks and then one
 * message per changed revision, waiting for the stream to drain whenever grpc-js's buffer is
 * full (so a slow subscriber backs up into the watch's bounded queues, which cut it off with
 * a reason rather than grow; a stream that stays full for drainTimeoutMs is cut off too).
 * Cancelling a Subscribe closes its watch.
 */
import type * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { ServiceRegistry } from '../coordination/membership.js';
import type { Instance, InstanceState } from '../coordination/membership-records.js';
import { invalid } from '../coordination/membership-records.js';
import { type InstanceChange, subscribe } from '../coordination/membership-subscribe.js';
import type { CoordinationKv } from '../coordination/ports.js';
import { cancellableUnary, type HeaderAt, type UnaryHandler, wireInt } from './coordination-wire.js';
import { toGrpcError } from './errors.js';
import type { WireHeader } from './header.js';

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
type Wire = any;

/** Most instances in one snapshot message (keeps each message well under the size limits). */
export const SNAPSHOT_CHUNK_INSTANCES_MAX = 256;

const STATE_NUMBERS: Record<InstanceState, number> = { SERVING: 1, DRAINING: 2, DOWN: 3 };
const STATES_BY_NUMBER: Record<number, InstanceState> = { 1: 'SERVING', 2: 'DRAINING', 3: 'DOWN' };
const CHANGE_NUMBERS: Record<InstanceChange['type'], number> = { upsert: 1, delete: 2 };

function wireString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function wireMetadata(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) out[k] = String(x);
  }
  return out;
}

/** A state enum from the wire; 0 (unspecified) is `unspecified` when allowed, else an error. */
function wireState(v: unknown, unspecified?: InstanceState): InstanceState {
  const n = Number(v ?? 0);
  if (n === 0 && unspecified) return unspecified;
  const s = STATES_BY_NUMBER[n];
  if (!s) throw invalid('state must be SERVING, DRAINING or DOWN');
  return s;
}

/** An Instance as cairn.v1.Instance. */
export function instanceToWire(i: Instance): Wire {
  return {
    service: i.service,
    instance_id: i.instanceId,
    address: i.address,
    weight: i.weight,
    zone: i.zone,
    metadata: i.metadata,
    state: STATE_NUMBERS[i.state],
    load: i.load
      ? {
          in_flight: i.load.inFlight,
          cpu_utilization: i.load.cpuUtilization,
          reported_at_unix_ms: i.load.reportedAtUnixMs,
        }
      : null,
    lease: i.lease,
    registered_at_revision: i.registeredAtRevision,
    updated_at_revision: i.updatedAtRevision,
    registered_at_unix_ms: i.registeredAtUnixMs,
  };
}

/** How long a Subscribe stream may stay full before its subscriber is cut off, by default. */
export const DRAIN_TIMEOUT_MS_DEFAULT = 60_000;

/** Resolves when the stream can take more or the call is cancelled; rejects SUBSCRIBER_TOO_SLOW after timeoutMs. */
function drained(
  call: grpc.ServerWritableStream<unknown, unknown>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      call.removeListener('drain', done);
      signal.removeEventListener('abort', done);
    };
    const done = (): void => {
      finish();
      resolve();
    };
    const timer = setTimeout(() => {
      finish();
      reject(
        new CairnError(
          ErrorCode.SUBSCRIBER_TOO_SLOW,
          `membership: subscriber read nothing for ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The handlers of cairn.v1.MembershipService. */
export function membershipHandlers(
  registry: ServiceRegistry,
  kv: CoordinationKv,
  headerAt: HeaderAt,
  currentHeader: () => WireHeader,
  opts: { readonly drainTimeoutMs: number } = { drainTimeoutMs: DRAIN_TIMEOUT_MS_DEFAULT },
): Record<string, UnaryHandler | ((call: grpc.ServerWritableStream<unknown, unknown>) => void)> {
  return {
    Register: cancellableUnary(async (w: Wire) => {
      const r = await registry.register({
        service: wireString(w.service),
        instanceId: wireString(w.instance_id),
        address: wireString(w.address),
        weight: wireInt(w.weight, 'weight'),
        zone: wireString(w.zone),
        metadata: wireMetadata(w.metadata),
        ttlSeconds: wireInt(w.ttl_seconds, 'ttl_seconds'),
        lease: wireInt(w.lease, 'lease'),
        state: wireState(w.state, 'SERVING'),
      });
      return {
        header: headerAt(r.revision),
        instance: instanceToWire(r.instance),
        lease: r.lease,
        ttl_seconds: r.ttlSeconds,
        revision: r.revision,
      };
    }),
    Deregister: cancellableUnary(async (w: Wire) => {
      const revision = await registry.deregister(wireString(w.service), wireString(w.instance_id));
      return { header: headerAt(revision) };
    }),
    SetState: cancellableUnary(async (w: Wire) => {
      const r = await registry.setState(wireString(w.service), wireString(w.instance_id), wireState(w.state));
      return { header: headerAt(r.revision), instance: instanceToWire(r.instance) };
    }),
    ReportLoad: cancellableUnary(async (w: Wire) => {
      const r = await registry.reportLoad(wireString(w.service), wireString(w.instance_id), {
        inFlight: wireInt(w.in_flight, 'in_flight'),
        cpuUtilization: Number(w.cpu_utilization ?? 0),
      });
      return { header: headerAt(r.revision), instance: instanceToWire(r.instance) };
    }),
    KeepAlive: cancellableUnary(async (w: Wire) => {
      const ttl = await registry.keepAlive(wireInt(w.lease, 'lease'));
      return { header: currentHeader(), ttl_seconds: ttl };
    }),
    Get: cancellableUnary(async (w: Wire) => {
      const r = await registry.get(wireString(w.service), wireString(w.instance_id));
      return { header: headerAt(r.revision), instance: instanceToWire(r.instance) };
    }),
    List: cancellableUnary(async (w: Wire) => {
      const r = await registry.list({ service: wireString(w.service), prefix: w.prefix === true });
      return { header: headerAt(r.revision), instances: r.instances.map(instanceToWire) };
    }),
    Subscribe(call: grpc.ServerWritableStream<unknown, unknown>): void {
      const controller = new AbortController();
      const onCancel = (): void => controller.abort();
      call.on('cancelled', onCancel);
      const signal = controller.signal;
      const send = async (message: Wire): Promise<void> => {
        if (!call.write(message)) await drained(call, signal, opts.drainTimeoutMs);
      };
      const stream = async (): Promise<void> => {
        const w = call.request as Wire;
        const sel = { service: wireString(w.service), prefix: w.prefix === true };
        const from = wireInt(w.from_revision, 'from_revision');
        for await (const ev of subscribe(kv, sel, from, signal)) {
          if (ev.kind === 'snapshot') {
            const all = ev.instances;
            let at = 0;
            do {
              const chunk = all.slice(at, at + SNAPSHOT_CHUNK_INSTANCES_MAX);
              at += chunk.length;
              await send({
                header: headerAt(ev.revision),
                revision: ev.revision,
                snapshot: chunk.map(instanceToWire),
                snapshot_done: at >= all.length,
                changes: [],
              });
            } while (at < all.length && !signal.aborted);
          } else {
            await send({
              header: headerAt(ev.revision),
              revision: ev.revision,
              snapshot: [],
              snapshot_done: false,
              changes: ev.changes.map((c) => ({
                type: CHANGE_NUMBERS[c.type],
                instance: instanceToWire(c.instance),
              })),
            });
          }
          if (signal.aborted) return;
        }
      };
      stream()
        .then(
          () => {
            if (!signal.aborted) call.end();
          },
          (err: unknown) => {
            if (!signal.aborted) call.emit('error', toGrpcError(err));
          },
        )
        .finally(() => {
          call.removeListener('cancelled', onCancel);
          controller.abort();
        });
    },
  };
}
