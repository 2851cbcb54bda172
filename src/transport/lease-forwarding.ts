/**
 * Forwarding of lease keep-alives and time-to-live queries to the leader over the peer
 * port (etcd forwards them to the leader's peer URL the same way): the client side keeps
 * one channel per peer, created on first use, with the transport's credentials; the server
 * side answers from the member's lease keeper. Errors travel as gRPC status with Cairn's
 * stable code in the details, and come back as CairnErrors.
 */
import * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import { loadProtoPackage } from '../common/proto-loader.js';
import { type PeerCredentials, peerDialCredentials } from '../common/tls.js';
import type { NodeId } from '../raft/types.js';
import { peerDialUrl } from './dial-redirect.js';
import { grpcTargetOf } from './peer-link.js';

/** What the leader answers for a lease. */
export interface LeaseTtl {
  /** Remaining (TimeToLive) or renewed (Renew) TTL in seconds; 0 / -1 when the lease does not exist. */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
}

/** The member-side handler of forwarded lease calls (the leader's lease keeper behind it). */
export interface LeaseForwardHandler {
  renew(id: number): Promise<number>;
  timeToLive(id: number): Promise<LeaseTtl>;
}

interface LeasePeerClient extends grpc.Client {
  Renew(
    req: { cluster_id: number; id: number },
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { ttl: number }) => void,
  ): void;
  TimeToLive(
    req: { cluster_id: number; id: number },
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { ttl: number; granted_ttl: number }) => void,
  ): void;
}

function leasePeerService(): grpc.ServiceClientConstructor {
  const pkg = loadProtoPackage('raft', ['lease.proto']) as unknown as {
    cairn: { raft: { LeasePeer: grpc.ServiceClientConstructor } };
  };
  return pkg.cairn.raft.LeasePeer;
}

const CODE_PREFIX = 'cairn-code:';

function toStatus(err: unknown): grpc.ServiceError {
  const code = isCairnError(err) ? err.code : ErrorCode.UNAVAILABLE;
  const message = (err as Error)?.message ?? String(err);
  return Object.assign(new Error(message), {
    code: grpc.status.UNAVAILABLE,
    details: `${CODE_PREFIX}${code} ${message}`,
    metadata: new grpc.Metadata(),
  });
}

function fromStatus(err: grpc.ServiceError): CairnError {
  const m = /^cairn-code:(\S+) (.*)$/s.exec(err.details ?? '');
  if (m && m[1]! in ErrorCode) return new CairnError(m[1] as ErrorCode, m[2]!);
  // The leader could not be reached: the caller may retry once a leader is known again.
  return new CairnError(ErrorCode.NO_LEADER, 'etcdserver: no leader');
}

/** Registers the LeasePeer service on a member's peer server. */
export function registerLeasePeer(
  server: grpc.Server,
  clusterId: number,
  handler: () => LeaseForwardHandler | undefined,
): void {
  const wrongCluster = () =>
    toStatus(new CairnError(ErrorCode.INVALID_ARGUMENT, 'lease call from another cluster'));
  server.addService(leasePeerService().service, {
    Renew(
      call: grpc.ServerUnaryCall<{ cluster_id: number; id: number }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) {
      const h = handler();
      if (call.request.cluster_id !== clusterId || !h) return cb(wrongCluster());
      h.renew(call.request.id).then(
        (ttl) => cb(null, { ttl }),
        (err) => cb(toStatus(err)),
      );
    },
    TimeToLive(
      call: grpc.ServerUnaryCall<{ cluster_id: number; id: number }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) {
      const h = handler();
      if (call.request.cluster_id !== clusterId || !h) return cb(wrongCluster());
      h.timeToLive(call.request.id).then(
        (r) => cb(null, { ttl: r.ttlSeconds, granted_ttl: r.grantedTtlSeconds }),
        (err) => cb(toStatus(err)),
      );
    },
  });
}

/** Options of the forwarding client. */
export interface LeaseForwarderOptions {
  readonly clusterId: number;
  /** The peer URL of a member, or undefined if unknown. */
  readonly peerUrlOf: (id: NodeId) => string | undefined;
  /** The same credentials the raft transport dials peers with. */
  readonly credentials?: PeerCredentials;
  /** Deadline of one forwarded call. */
  readonly callTimeoutMs: number;
}

/** Sends lease calls to the leader's peer port. */
export class LeaseForwarder {
  private readonly clients = new Map<string, LeasePeerClient>();

  constructor(private readonly opts: LeaseForwarderOptions) {}

  /** Renews a lease on the leader; resolves with the TTL (0: no such lease). */
  renew(leader: NodeId, id: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.client(leader).Renew({ cluster_id: this.opts.clusterId, id }, this.callOptions(), (err, res) =>
        err ? reject(fromStatus(err)) : resolve(Number(res?.ttl ?? 0)),
      );
    });
  }

  /** Asks the leader for a lease's remaining TTL (-1: no such lease). */
  timeToLive(leader: NodeId, id: number): Promise<LeaseTtl> {
    return new Promise((resolve, reject) => {
      this.client(leader).TimeToLive(
        { cluster_id: this.opts.clusterId, id },
        this.callOptions(),
        (err, res) =>
          err
            ? reject(fromStatus(err))
            : resolve({
                ttlSeconds: Number(res?.ttl ?? -1),
                grantedTtlSeconds: Number(res?.granted_ttl ?? 0),
              }),
      );
    });
  }

  /** Closes every channel. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private callOptions(): grpc.CallOptions {
    return { deadline: Date.now() + this.opts.callTimeoutMs };
  }

  private client(leader: NodeId): LeasePeerClient {
    const url = this.opts.peerUrlOf(leader);
    if (url === undefined) throw new CairnError(ErrorCode.NO_LEADER, 'etcdserver: no leader');
    let c = this.clients.get(url);
    if (!c) {
      const Ctor = leasePeerService();
      c = new Ctor(
        grpcTargetOf(peerDialUrl(url)),
        peerDialCredentials(url, this.opts.credentials),
      ) as unknown as LeasePeerClient;
      this.clients.set(url, c);
    }
    return c;
  }
}
