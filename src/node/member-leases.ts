/**
 * A member's lease operations, wherever the client reached it: grants and revokes go
 * through the log; keep-alives and time-to-live go to the leader's lease clock, locally
 * when this member leads and forwarded over the peer port when it does not (etcd's design);
 * expired leases are revoked by a periodic check on the leader. The Lease gRPC service and
 * the peer LeasePeer service both sit on this.
 */
import { randomInt } from 'node:crypto';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import {
  encodeCommand,
  LEASE_TTL_SECONDS_MAX,
  type LeaseGrantResponse,
  type LeaseRevokeResponse,
  mvccError,
} from '../mvcc/index.js';
import { NONE, type NodeId } from '../raft/index.js';
import { EntryKind } from './envelope.js';
import type { KvResult, KvStateMachine } from './kv-state-machine.js';
import { LeaseKeeper, type LeaseRemaining } from './lease-keeper.js';
import type { RaftNode } from './raft-node.js';

/** Forwarding of lease calls to the leader (the transport's LeaseForwarder). */
export interface LeaseLeaderPort {
  renew(leader: NodeId, id: number): Promise<number>;
  timeToLive(leader: NodeId, id: number): Promise<{ ttlSeconds: number; grantedTtlSeconds: number }>;
}

/** How a member's leases behave. */
export interface MemberLeasesOptions {
  readonly node: RaftNode<KvResult>;
  readonly stateMachine: KvStateMachine;
  readonly leader: LeaseLeaderPort;
  /** etcd's minimum lease TTL: ceil(1.5 x election timeout) in seconds. */
  readonly minTtlSeconds: number;
  /** Added to every lease's remaining time when this member becomes leader. */
  readonly promotionExtensionMs: number;
  /** How often the leader looks for expired leases. */
  readonly expiryCheckIntervalMs: number;
  readonly revokesPerSecondMax: number;
  readonly logger: Logger;
  /** Monotonic clock in ms (performance.now by default). */
  readonly nowMs?: () => number;
}

/** What TimeToLive answers. */
export interface LeaseTimeToLive {
  readonly id: number;
  /** Remaining seconds, -1 when the lease does not exist. */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: readonly Uint8Array[];
}

/** The smallest TTL etcd grants for an election timeout: ceil(1.5 x timeout) seconds. */
export function minLeaseTtlSeconds(electionTimeoutMs: number): number {
  return Math.ceil((1.5 * electionTimeoutMs) / 1000);
}

/** Server-chosen lease ids: a random 52-bit positive number (never 0, always a safe integer). */
function newLeaseId(): number {
  return randomInt(1, 2 ** 48) * 16 + randomInt(0, 16);
}

const GRANT_ATTEMPTS_MAX = 5;

/** Lease operations of one member. */
export class MemberLeases {
  /** The leader's lease clock; primary only while this member leads. */
  readonly keeper: LeaseKeeper;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: MemberLeasesOptions) {
    const sm = opts.stateMachine;
    this.keeper = new LeaseKeeper({
      nowMs: opts.nowMs ?? (() => performance.now()),
      promotionExtensionMs: opts.promotionExtensionMs,
      revokesPerSecondMax: opts.revokesPerSecondMax,
      lookup: (id) => sm.store.lease(id),
      all: () => sm.store.leases(),
      proposeRevoke: (id) => this.propose({ type: 'leaseRevoke', id }),
      logger: opts.logger,
    });
    sm.leaseListener = this.keeper;
  }

  /** Starts the expiry check. */
  start(): void {
    this.timer = setInterval(() => this.keeper.revokeExpired(), this.opts.expiryCheckIntervalMs);
    this.timer.unref();
  }

  /** Stops the expiry check. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.keeper.demote();
  }

  /** The leader changed (RaftNode's onLeaderChange): the lease clock follows leadership. */
  onLeaderChange(leader: NodeId): void {
    if (leader === this.opts.node.id) this.keeper.promote();
    else this.keeper.demote();
  }

  /** Grants a lease: id 0 lets the server choose; the TTL is raised to the minimum. */
  async grant(requestedId: number, requestedTtlSeconds: number): Promise<LeaseGrantResponse> {
    if (!Number.isSafeInteger(requestedId) || requestedId < 0) {
      throw new CairnError(
        ErrorCode.INVALID_ARGUMENT,
        `lease id ${requestedId} is not a positive 53-bit integer`,
      );
    }
    if (requestedTtlSeconds > LEASE_TTL_SECONDS_MAX) throw mvccError(ErrorCode.LEASE_TTL_TOO_LARGE);
    const ttlSeconds = Math.max(this.opts.minTtlSeconds, requestedTtlSeconds);
    for (let attempt = 1; ; attempt++) {
      const id = requestedId === 0 ? newLeaseId() : requestedId;
      const r = await this.propose({ type: 'leaseGrant', id, ttlSeconds });
      if (r.ok) return r.response as LeaseGrantResponse;
      // A server-chosen id that happens to exist: choose another.
      if (requestedId !== 0 || r.error.code !== ErrorCode.LEASE_EXISTS || attempt >= GRANT_ATTEMPTS_MAX)
        throw r.error;
    }
  }

  /** Revokes a lease and deletes its keys. */
  async revoke(id: number): Promise<LeaseRevokeResponse> {
    const r = await this.propose({ type: 'leaseRevoke', id });
    if (!r.ok) throw r.error;
    return r.response as LeaseRevokeResponse;
  }

  /** A keep-alive: the TTL after renewal, or 0 when the lease does not exist. */
  async renew(id: number): Promise<number> {
    const leader = this.leaderOrFail();
    if (leader !== this.opts.node.id) return this.opts.leader.renew(leader, id);
    return this.renewAsLeader(id);
  }

  /** A keep-alive that reached the leader (locally or forwarded). */
  async renewAsLeader(id: number): Promise<number> {
    await this.ensureApplied(id);
    return this.keeper.renew(id);
  }

  /** The remaining and granted TTL of a lease, and its keys when asked (read linearizably). */
  async timeToLive(id: number, withKeys: boolean): Promise<LeaseTimeToLive> {
    const leader = this.leaderOrFail();
    const remaining =
      leader === this.opts.node.id
        ? await this.timeToLiveAsLeader(id)
        : await this.opts.leader.timeToLive(leader, id);
    if (remaining.ttlSeconds < 0) return { id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    let keys: Uint8Array[] = [];
    if (withKeys) {
      await this.opts.node.linearizableBarrier();
      keys = this.opts.stateMachine.store.keysOfLease(id);
    }
    return { id, ...remaining, keys };
  }

  /** TimeToLive on the leader: -1 when the lease does not exist. */
  async timeToLiveAsLeader(id: number): Promise<LeaseRemaining> {
    await this.ensureApplied(id);
    return this.keeper.remaining(id) ?? { ttlSeconds: -1, grantedTtlSeconds: 0 };
  }

  /** Every lease id, read linearizably. */
  async list(): Promise<number[]> {
    await this.opts.node.linearizableBarrier();
    return this.opts.stateMachine.store.leases().map((l) => l.id);
  }

  /** A lease unknown here may be granted by an entry not yet applied: catch up before answering. */
  private async ensureApplied(id: number): Promise<void> {
    if (this.opts.stateMachine.store.lease(id) === undefined) await this.opts.node.linearizableBarrier();
  }

  private leaderOrFail(): NodeId {
    const leader = this.opts.node.leader;
    if (leader === NONE) throw new CairnError(ErrorCode.NO_LEADER, 'etcdserver: no leader');
    return leader;
  }

  private propose(cmd: Parameters<typeof encodeCommand>[0]): Promise<KvResult> {
    return this.opts.node.propose(EntryKind.Mvcc, encodeCommand(cmd));
  }
}
