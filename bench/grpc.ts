/**
 * The benchmark's one client, used unchanged against Cairn and etcd: raw @grpc/grpc-js stubs
 * of etcd's v3 services (and Cairn's LockService and MembershipService) from the repository's
 * proto loader, over a small pool of channels, each its own TCP connection. Clients are spread
 * over the members round-robin, leader first, so a single client talks to the leader.
 */
import * as grpc from '@grpc/grpc-js';
import { cairnService, etcdServices } from '../src/common/proto-loader.js';

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
export type Wire = any;

/** Stubs of every service the workloads call, sharing one channel (one connection to one member). */
export interface Stubs {
  readonly endpoint: string;
  readonly kv: grpc.Client;
  readonly watch: grpc.Client;
  readonly lease: grpc.Client;
  readonly lock: grpc.Client;
  readonly maintenance: grpc.Client;
  /** Cairn only: cairn.v1.LockService. */
  readonly cairnLock: grpc.Client;
  /** Cairn only: cairn.v1.MembershipService. */
  readonly membership: grpc.Client;
}

/** Channels per member in a pool: 4 x 3 members = 12 connections, whatever the client count. */
export const CHANNELS_PER_MEMBER = 4;

/** A pool of channels over a cluster's members; stubsFor(c) is simulated client c's connection. */
export class ChannelPool {
  private readonly channels: grpc.Channel[] = [];
  private readonly stubs: Stubs[] = [];

  /** endpoints: host:port, leader first. */
  constructor(endpoints: readonly string[], perMember = CHANNELS_PER_MEMBER) {
    const s = etcdServices();
    const LockService = cairnService('lock.proto', 'LockService');
    const Membership = cairnService('membership.proto', 'MembershipService');
    const creds = grpc.credentials.createInsecure();
    // Channel i goes to member i mod n, so consecutive clients land on different members.
    for (let i = 0; i < perMember * endpoints.length; i++) {
      const endpoint = endpoints[i % endpoints.length]!;
      const channel = new grpc.Channel(endpoint, creds, {
        // Each channel its own connection (grpc-js would otherwise share one per target).
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
      });
      const opts = { channelOverride: channel };
      this.channels.push(channel);
      this.stubs.push({
        endpoint,
        kv: new s.KV(endpoint, creds, opts),
        watch: new s.Watch(endpoint, creds, opts),
        lease: new s.Lease(endpoint, creds, opts),
        lock: new s.Lock(endpoint, creds, opts),
        maintenance: new s.Maintenance(endpoint, creds, opts),
        cairnLock: new LockService(endpoint, creds, opts),
        membership: new Membership(endpoint, creds, opts),
      });
    }
  }

  /** The stubs simulated client `client` uses. */
  stubsFor(client: number): Stubs {
    return this.stubs[client % this.stubs.length]!;
  }

  /** How many channels the pool holds. */
  get size(): number {
    return this.stubs.length;
  }

  /** Closes every channel (open calls fail CANCELLED). */
  close(): void {
    for (const c of this.channels) c.close();
  }
}

/** A gRPC error as the client sees it. */
export type CallError = Error & { code: grpc.status; details: string };

/** Calls a unary method with an optional deadline. */
export function unary(
  client: grpc.Client,
  method: string,
  request: Wire,
  deadlineMs?: number,
): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const opts: grpc.CallOptions = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    (client as Wire)[method](request, opts, (err: CallError | null, res: Wire) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** A key or value as bytes. */
export function bytes(s: string): Buffer {
  return Buffer.from(s);
}

/** The range end that makes `prefix` a prefix query (etcd's convention: last byte + 1). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  return end;
}

/** The next lease id to ask for. */
let nextLease = 0x1000_0000;

/**
 * A lease id for LeaseGrant, chosen by the client: etcd picks ids above 2^53, which the
 * repository's proto loader (int64 as a JavaScript number) cannot carry exactly, so the
 * benchmark names its leases on both systems (etcd and Cairn both honour a requested id).
 */
export function newLeaseId(): number {
  return nextLease++;
}
