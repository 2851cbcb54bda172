/**
 * The leader's lease clock (etcd's lessor, primary side). The replicated lease table holds
 * only ids and TTLs; when each lease expires lives here, in memory, on the leader alone.
 * A member that becomes leader gives every lease its whole TTL plus one election timeout
 * (no lease dies because leadership moved, and a keep-alive the old leader answered is
 * honoured); keep-alives reset a lease's deadline; expired leases are revoked by proposing
 * a revoke through the log (so apply stays deterministic), at a bounded rate so a mass
 * expiry cannot starve client writes. Time comes from an injected monotonic clock.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { LeaseRecord } from '../mvcc/index.js';

/** What the keeper needs from the member. */
export interface LeaseKeeperOptions {
  /** Monotonic milliseconds (performance.now in production, a fake in tests). */
  readonly nowMs: () => number;
  /** Added to every lease's TTL when this member becomes leader: at least one election timeout. */
  readonly promotionExtensionMs: number;
  /** Most revoke proposals per second. */
  readonly revokesPerSecondMax: number;
  /** The replicated lease table as applied on this member. */
  readonly lookup: (id: number) => LeaseRecord | undefined;
  readonly all: () => readonly LeaseRecord[];
  /** Proposes the revoke of an expired lease; resolves once applied (or rejects). */
  readonly proposeRevoke: (id: number) => Promise<unknown>;
  readonly logger: Logger;
}

/** What a lease's remaining time is, as the leader sees it. */
export interface LeaseRemaining {
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
}

/** Tracks lease deadlines while this member leads, and revokes what expires. */
export class LeaseKeeper {
  private readonly log: Logger;
  private primary = false;
  /** Invariant: empty unless primary; lease id -> monotonic deadline in ms. */
  private readonly deadlines = new Map<number, number>();
  /** Leases whose revoke is proposed and not yet applied or failed. */
  private readonly revoking = new Set<number>();
  /** Revokes still allowed in the current one-second window, and when the window began. */
  private budget: number;
  private windowStartMs = 0;

  constructor(private readonly opts: LeaseKeeperOptions) {
    this.log = opts.logger.child({ component: 'lease-keeper' });
    this.budget = opts.revokesPerSecondMax;
  }

  /** Whether this member currently keeps lease deadlines (it is the leader). */
  get isPrimary(): boolean {
    return this.primary;
  }

  /** This member became leader: every lease gets its whole TTL plus the extension, from now. */
  promote(): void {
    this.primary = true;
    const now = this.opts.nowMs();
    this.deadlines.clear();
    this.revoking.clear();
    for (const lease of this.opts.all()) {
      this.deadlines.set(lease.id, now + lease.ttlSeconds * 1000 + this.opts.promotionExtensionMs);
    }
    this.log.info(
      { leases: this.deadlines.size, extensionMs: this.opts.promotionExtensionMs },
      'lease keeper promoted',
    );
  }

  /** This member stopped leading: it forgets every deadline (the next leader starts afresh). */
  demote(): void {
    if (!this.primary) return;
    this.primary = false;
    this.deadlines.clear();
    this.revoking.clear();
    this.log.info({}, 'lease keeper demoted');
  }

  /** A grant was applied on this member. */
  onGranted(lease: LeaseRecord): void {
    if (this.primary) this.deadlines.set(lease.id, this.opts.nowMs() + lease.ttlSeconds * 1000);
  }

  /** A revoke was applied on this member. */
  onRevoked(id: number): void {
    this.deadlines.delete(id);
    this.revoking.delete(id);
  }

  /**
   * Renews a lease (a keep-alive) and answers its TTL in seconds, or 0 when the lease does
   * not exist or has already expired (its revoke is on its way). Only the leader renews.
   */
  renew(id: number): number {
    this.requirePrimary();
    const lease = this.opts.lookup(id);
    if (!lease) return 0;
    const now = this.opts.nowMs();
    const deadline = this.deadlines.get(id);
    if (this.revoking.has(id) || (deadline !== undefined && deadline <= now)) return 0;
    this.deadlines.set(id, now + lease.ttlSeconds * 1000);
    return lease.ttlSeconds;
  }

  /** The remaining time of a lease (whole seconds, rounded down, as etcd), or undefined if it does not exist. */
  remaining(id: number): LeaseRemaining | undefined {
    this.requirePrimary();
    const lease = this.opts.lookup(id);
    if (!lease) return undefined;
    const deadline = this.deadlines.get(id) ?? this.opts.nowMs() + lease.ttlSeconds * 1000;
    const ttlSeconds = Math.max(0, Math.floor((deadline - this.opts.nowMs()) / 1000));
    return { ttlSeconds, grantedTtlSeconds: lease.ttlSeconds };
  }

  /**
   * Proposes revokes for leases past their deadline, oldest deadline first, within the rate
   * budget; called periodically. Returns the ids proposed (for tests and logs).
   */
  revokeExpired(): number[] {
    if (!this.primary) return [];
    const now = this.opts.nowMs();
    if (now - this.windowStartMs >= 1000) {
      this.windowStartMs = now;
      this.budget = this.opts.revokesPerSecondMax;
    }
    if (this.budget <= 0) return [];
    const expired: [number, number][] = [];
    for (const [id, deadline] of this.deadlines) {
      if (deadline <= now && !this.revoking.has(id)) expired.push([id, deadline]);
    }
    expired.sort((a, b) => a[1] - b[1]);
    const chosen = expired.slice(0, this.budget).map(([id]) => id);
    this.budget -= chosen.length;
    for (const id of chosen) {
      this.revoking.add(id);
      this.opts.proposeRevoke(id).then(
        () => {
          this.revoking.delete(id);
          // Applied, or refused because a client revoked it first: either way it is gone.
          if (!this.opts.lookup(id)) this.deadlines.delete(id);
        },
        (err: Error) => {
          // Not applied (no leader, timeout): try again on a later check if still leading.
          this.revoking.delete(id);
          this.log.warn({ lease: id, err: err.message }, 'revoke of an expired lease failed; will retry');
        },
      );
    }
    if (chosen.length > 0)
      this.log.info(
        { count: chosen.length, backlog: expired.length - chosen.length },
        'revoking expired leases',
      );
    return chosen;
  }

  private requirePrimary(): void {
    if (!this.primary) throw new CairnError(ErrorCode.NOT_LEADER, 'etcdserver: not leader');
  }
}
