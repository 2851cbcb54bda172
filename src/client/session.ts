/**
 * A Session: one lease kept alive for as long as a process lives, as etcd's concurrency
 * sessions are. Locks, elections and registrations made "in" a session live and die with
 * it: when the process dies, the lease runs out and the cluster releases them all.
 */
import type { Lease, LeaseLostReason, Leases } from './lease.js';

/** Options of a session. */
export interface SessionOptions {
  /** The lease TTL (default 60 s, as etcd's sessions): how long after a crash its locks stay held. */
  ttlSeconds?: number;
  /** Use this existing lease instead of granting one (it is kept alive). */
  leaseId?: number;
}

/** A lease kept alive for the life of the process; close() revokes it. */
export class Session {
  /** Resolves when the session ends: lost (with the reason) or closed ('closed'). */
  readonly done: Promise<LeaseLostReason>;

  private constructor(
    /** The session's lease. */
    readonly lease: Lease,
  ) {
    this.done = new Promise((resolve) => {
      lease.once('lost', (reason) => resolve(reason));
      this.resolveClosed = () => resolve('closed');
    });
  }

  private resolveClosed: () => void = () => undefined;

  /** Grants (or adopts) the lease and starts its keep-alive. */
  static async create(leases: Leases, options: SessionOptions = {}): Promise<Session> {
    const ttlSeconds = options.ttlSeconds ?? 60;
    if (options.leaseId !== undefined) {
      const ttl = await leases.timeToLive(options.leaseId);
      if (ttl.ttlSeconds <= 0) throw new RangeError(`lease ${options.leaseId.toString(16)} does not exist`);
      return new Session(leases.adopt(options.leaseId, ttl.grantedTtlSeconds, ttl.ttlSeconds));
    }
    return new Session(await leases.grant(ttlSeconds));
  }

  /** The lease id, as the services take it. */
  get leaseId(): number {
    return this.lease.id;
  }

  /** Whether the session is over. */
  get isLost(): boolean {
    return this.lease.isLost;
  }

  /** Ends the session: revokes its lease, which releases everything held in it. */
  async close(): Promise<void> {
    this.resolveClosed();
    await this.lease.revoke();
  }
}
