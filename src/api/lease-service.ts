/**
 * etcd's Lease service: LeaseGrant, LeaseRevoke, LeaseKeepAlive (a bidirectional stream),
 * LeaseTimeToLive and LeaseLeases, with etcd's answers for the odd cases: a keep-alive for
 * an unknown lease answers TTL 0, TimeToLive of an unknown lease answers TTL -1, a revoke of
 * an unknown lease is NotFound "etcdserver: requested lease not found".
 */
import type * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { toGrpcError } from './errors.js';
import type { WireHeader } from './header.js';

/** The lease operations the service calls (node/member-leases.ts). */
export interface LeaseBackend {
  grant(
    id: number,
    ttlSeconds: number,
  ): Promise<{ id: number; ttlSeconds: number; header: { revision: number } }>;
  revoke(id: number): Promise<{ header: { revision: number } }>;
  renew(id: number): Promise<number>;
  timeToLive(
    id: number,
    withKeys: boolean,
  ): Promise<{ id: number; ttlSeconds: number; grantedTtlSeconds: number; keys: readonly Uint8Array[] }>;
  list(): Promise<number[]>;
  /** Whether a leader is known (for streams that ask with `hasleader` metadata). */
  hasLeader(): boolean;
}

/** Keep-alives one stream may have waiting; a client that floods beyond this is refused. */
export const KEEPALIVE_PENDING_MAX = 1024;

type Callback = (err: Error | null, value?: unknown) => void;
// biome-ignore lint/suspicious/noExplicitAny: gRPC calls carry decoded wire objects
type UnaryCall = { request: any };

function leaseId(value: unknown): number {
  const id = Number(value ?? 0);
  if (!Number.isSafeInteger(id))
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `lease id ${String(value)} is out of range`);
  return id;
}

function unary(fn: (request: Record<string, unknown>) => Promise<unknown>) {
  return (call: UnaryCall, cb: Callback) => {
    Promise.resolve()
      .then(() => fn(call.request ?? {}))
      .then(
        (res) => cb(null, res),
        (err: unknown) => cb(toGrpcError(err)),
      );
  };
}

/** Handlers for etcdserverpb.Lease. */
export function leaseHandlers(
  backend: LeaseBackend,
  header: () => WireHeader,
  logger: Logger,
): Record<string, unknown> {
  const log = logger.child({ component: 'lease-service' });
  return {
    LeaseGrant: unary(async (req) => {
      const r = await backend.grant(leaseId(req.ID), Number(req.TTL ?? 0));
      return { header: { ...header(), revision: r.header.revision }, ID: r.id, TTL: r.ttlSeconds, error: '' };
    }),
    LeaseRevoke: unary(async (req) => {
      const r = await backend.revoke(leaseId(req.ID));
      return { header: { ...header(), revision: r.header.revision } };
    }),
    LeaseTimeToLive: unary(async (req) => {
      const r = await backend.timeToLive(leaseId(req.ID), req.keys === true);
      return {
        header: header(),
        ID: r.id,
        TTL: r.ttlSeconds,
        grantedTTL: r.grantedTtlSeconds,
        keys: r.keys.map((k) => Buffer.from(k)),
      };
    }),
    LeaseLeases: unary(async () => {
      const ids = await backend.list();
      return { header: header(), leases: ids.map((ID) => ({ ID })) };
    }),
    LeaseKeepAlive(stream: grpc.ServerDuplexStream<{ ID?: number }, unknown>): void {
      const requireLeader = stream.metadata.get('hasleader')[0] === 'true';
      let pending = 0;
      let chain: Promise<void> = Promise.resolve();
      let closed = false;
      const fail = (err: unknown) => {
        if (closed) return;
        closed = true;
        stream.destroy(toGrpcError(err));
      };
      stream.on('data', (req: { ID?: number }) => {
        if (closed) return;
        if (requireLeader && !backend.hasLeader())
          return fail(new CairnError(ErrorCode.NO_LEADER, 'no leader'));
        if (++pending > KEEPALIVE_PENDING_MAX) {
          return fail(new CairnError(ErrorCode.OVERLOADED, 'too many keep-alives waiting on one stream'));
        }
        // One at a time, in order: answers come back in the order the requests came.
        chain = chain.then(async () => {
          try {
            const id = leaseId(req.ID);
            const ttl = await backend.renew(id);
            if (!closed) stream.write({ header: header(), ID: id, TTL: ttl });
          } catch (err) {
            log.debug({ err: (err as Error).message }, 'keep-alive failed; closing the stream');
            fail(err);
          } finally {
            pending--;
          }
        });
      });
      stream.on('end', () => {
        chain.then(() => {
          if (!closed) {
            closed = true;
            stream.end();
          }
        });
      });
      stream.on('error', () => {
        closed = true;
      });
      stream.on('cancelled', () => {
        closed = true;
      });
    },
  };
}
