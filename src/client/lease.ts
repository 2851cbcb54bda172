/**
 * Leases: grant, revoke, time-to-live and list over etcd's Lease service, and `Lease`
 * objects kept alive automatically over one LeaseKeepAlive stream per client. A kept lease
 * renews every third of its TTL; it emits `lost` once when the cluster says it is gone, or
 * when its TTL (counted from the last renewal the client sent that was answered) runs out
 * before a renewal got through — from then on the keys attached to it must be presumed gone.
 * A renewal left unanswered for half an interval (a member paused, partitioned, or waiting
 * on a dead leader) moves the stream to another member, which is sent every renewal at once.
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode } from '../common/errors.js';
import { type CallOptions, type Connection, requireLeaderMetadata, type Wire } from './connection.js';
import { ClientError, toClientError } from './errors.js';

/** Why a lease was lost. */
export type LeaseLostReason = 'expired' | 'revoked-or-expired-on-cluster' | 'closed';

/** Events of a Lease. */
export interface LeaseEvents {
  /** A renewal went through: the cluster granted `ttlSeconds` more. */
  keepalive: [ttlSeconds: number];
  /** The lease is gone (or may be): once. */
  lost: [reason: LeaseLostReason, error?: ClientError];
}

/** What time-to-live tells about a lease. */
export interface LeaseTimeToLive {
  /** The lease's id. */
  id: number;
  /** Seconds left; -1 when the lease does not exist. */
  ttlSeconds: number;
  /** The TTL it was granted with. */
  grantedTtlSeconds: number;
  /** The keys bound to it (when asked for). */
  keys: Buffer[];
}

/** The smallest renewal interval (ms), whatever the TTL. */
const RENEW_INTERVAL_MIN_MS = 500;
/** The shortest wait (ms) for a renewal's answer before the stream counts as stalled (unless the interval is shorter). */
const RENEW_STALL_MIN_MS = 1000;

/** One lease the client holds; with keep-alive on, renewed until close(), revoke() or loss. */
export class Lease extends EventEmitter<LeaseEvents> {
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Armed while a renewal waits for its answer: fires when the oldest has waited stallMs(). */
  private stallTimer: NodeJS.Timeout | undefined;
  private lostReason: LeaseLostReason | undefined;
  /** When the lease runs out as far as the client knows (ms since epoch). */
  private expiresAtMs: number;
  /** The send times of renewals not answered yet, oldest first (bounded: one per interval). */
  private readonly pendingSentAtMs: number[] = [];

  constructor(
    private readonly leases: Leases,
    /** The lease id. */
    readonly id: number,
    /** The TTL the cluster granted (seconds). */
    readonly ttlSeconds: number,
    grantedAtMs: number,
  ) {
    super();
    this.expiresAtMs = grantedAtMs + ttlSeconds * 1000;
  }

  /** Whether the lease was lost or closed. */
  get isLost(): boolean {
    return this.lostReason !== undefined;
  }

  /** Milliseconds the client can still count on, 0 once lost. */
  get remainingMs(): number {
    return this.lostReason ? 0 : Math.max(0, this.expiresAtMs - Date.now());
  }

  /** Starts renewing every third of the TTL; idempotent. */
  keepAlive(): this {
    if (this.lostReason || this.renewTimer) return this;
    // Answers reach only the leases the client keeps.
    this.leases.keep(this);
    this.renewTimer = setInterval(() => this.renew(), this.renewIntervalMs());
    this.renewTimer.unref();
    this.armExpiry();
    this.renew();
    return this;
  }

  /**
   * Sends one renewal now, noting when, so that its answer extends the lease from then; only
   * while kept alive. While the stream waits to reconnect nothing is sent: the reconnection
   * renews every kept lease.
   */
  renew(): void {
    if (this.lostReason || !this.renewTimer) return;
    const sentAtMs = Date.now();
    if (!this.leases.sendKeepAlive(this.id)) return;
    if (this.pendingSentAtMs.length >= 8) this.pendingSentAtMs.shift();
    this.pendingSentAtMs.push(sentAtMs);
    this.armStall();
  }

  private renewIntervalMs(): number {
    return Math.max(RENEW_INTERVAL_MIN_MS, Math.floor((this.ttlSeconds * 1000) / 3));
  }

  /**
   * How long a renewal may wait for its answer: half an interval (2.5 s at a 15 s TTL), so a
   * stalled stream is left, and the renewals sent again elsewhere, well before the TTL runs out.
   */
  private stallMs(): number {
    const intervalMs = this.renewIntervalMs();
    return Math.min(intervalMs, Math.max(RENEW_STALL_MIN_MS, intervalMs / 2));
  }

  /** Arms the stall timer for the oldest renewal not answered yet (if there is one and it is not armed). */
  private armStall(): void {
    const oldestSentAtMs = this.pendingSentAtMs[0];
    if (this.stallTimer || oldestSentAtMs === undefined) return;
    this.stallTimer = setTimeout(
      () => {
        this.stallTimer = undefined;
        const oldest = this.pendingSentAtMs[0];
        if (this.lostReason || oldest === undefined) return;
        // Unanswered for stallMs: the member behind the stream is stuck. Move the stream
        // elsewhere; the move sends this lease's renewal again (and so re-arms this timer).
        if (Date.now() - oldest >= this.stallMs()) this.leases.abandonStream();
        else this.armStall();
      },
      Math.max(0, oldestSentAtMs + this.stallMs() - Date.now()),
    );
    this.stallTimer.unref();
  }

  private disarmStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  /** Forgets renewals sent on a stream that was abandoned: their answers will never come. */
  clearPending(): void {
    this.pendingSentAtMs.length = 0;
    this.disarmStall();
  }

  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.markLost('expired'), Math.max(0, this.expiresAtMs - Date.now()));
    this.expiryTimer.unref();
  }

  /** Called by Leases with a keep-alive answer for this lease. */
  handleKeepAlive(ttlSeconds: number): void {
    if (this.lostReason) return;
    const sentAtMs = this.pendingSentAtMs.shift();
    this.disarmStall();
    this.armStall();
    if (ttlSeconds <= 0) {
      this.markLost('revoked-or-expired-on-cluster');
      return;
    }
    // An answer with no renewal noted for it extends nothing: the client cannot tell when the
    // cluster's count started.
    if (sentAtMs === undefined) return;
    // Count from when the renewal was sent: the cluster's clock started no earlier.
    this.expiresAtMs = Math.max(this.expiresAtMs, sentAtMs + ttlSeconds * 1000);
    this.armExpiry();
    this.emit('keepalive', ttlSeconds);
  }

  /** Stops renewing and reports the loss once. */
  markLost(reason: LeaseLostReason, error?: ClientError): void {
    if (this.lostReason) return;
    this.lostReason = reason;
    this.stopTimers();
    this.leases.forget(this);
    if (reason !== 'closed') this.emit('lost', reason, ...(error ? [error] : []));
  }

  private stopTimers(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.renewTimer = undefined;
    this.expiryTimer = undefined;
    this.disarmStall();
  }

  /** Asks the cluster how long the lease has left. */
  timeToLive(options: { keys?: boolean } & CallOptions = {}): Promise<LeaseTimeToLive> {
    return this.leases.timeToLive(this.id, options);
  }

  /** Stops keep-alive and revokes the lease (its keys are deleted); a lease already gone is fine. */
  async revoke(options: CallOptions = {}): Promise<void> {
    this.markLost('closed');
    try {
      await this.leases.revoke(this.id, options);
    } catch (err) {
      if (!(err instanceof ClientError && err.code === ErrorCode.LEASE_NOT_FOUND)) throw err;
    }
  }

  /** Stops keep-alive without revoking: the lease runs out on the cluster after its TTL. */
  release(): void {
    this.markLost('closed');
  }
}

/** The lease calls of one client and the one keep-alive stream its kept leases share. */
export class Leases {
  private readonly kept = new Map<number, Lease>();
  private stream: grpc.ClientDuplexStream<Wire, Wire> | undefined;
  private streamAddress: string | undefined;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly connection: Connection) {}

  /** Grants a lease and (by default) keeps it alive. */
  async grant(
    ttlSeconds: number,
    options: { id?: number; keepAlive?: boolean } & CallOptions = {},
  ): Promise<Lease> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
      throw new ClientError(ErrorCode.INVALID_ARGUMENT, 'ttlSeconds must be a positive integer', 3, false);
    }
    const grantedAtMs = Date.now();
    const r = await this.connection.unary(
      'Lease',
      'LeaseGrant',
      { TTL: ttlSeconds, ID: options.id ?? 0 },
      // With an explicit id a retry is safe: a second grant fails with "lease already exists".
      { leader: true, idempotent: options.id !== undefined, ...options },
    );
    const lease = new Lease(this, Number(r.ID), Number(r.TTL), grantedAtMs);
    if (options.keepAlive !== false) lease.keepAlive();
    return lease;
  }

  /** Keeps alive a lease granted elsewhere (by id), with `remainingSeconds` left now. */
  adopt(id: number, ttlSeconds: number, remainingSeconds: number): Lease {
    const existing = this.kept.get(id);
    if (existing) return existing;
    const lease = new Lease(this, id, ttlSeconds, Date.now() - (ttlSeconds - remainingSeconds) * 1000);
    return lease.keepAlive();
  }

  /** Revokes a lease by id (the keys attached to it are deleted). */
  async revoke(id: number, options: CallOptions = {}): Promise<void> {
    this.kept.get(id)?.markLost('closed');
    await this.connection.unary(
      'Lease',
      'LeaseRevoke',
      { ID: id },
      { leader: true, idempotent: true, ...options },
    );
  }

  /** How long a lease has left (ttlSeconds -1 when it does not exist). */
  async timeToLive(id: number, options: { keys?: boolean } & CallOptions = {}): Promise<LeaseTimeToLive> {
    const r = await this.connection.unary(
      'Lease',
      'LeaseTimeToLive',
      { ID: id, keys: options.keys ?? false },
      { idempotent: true, ...options },
    );
    return {
      id: Number(r.ID),
      ttlSeconds: Number(r.TTL),
      grantedTtlSeconds: Number(r.grantedTTL),
      keys: (r.keys ?? []) as Buffer[],
    };
  }

  /** The ids of every lease on the cluster. */
  async list(options: CallOptions = {}): Promise<number[]> {
    const r = await this.connection.unary('Lease', 'LeaseLeases', {}, { idempotent: true, ...options });
    return ((r.leases ?? []) as Wire[]).map((l) => Number(l.ID));
  }

  /** Sends one renewal on the shared stream (opened on demand); false when no stream can be open now. */
  sendKeepAlive(id: number): boolean {
    const stream = this.openStream();
    if (!stream) return false;
    stream.write({ ID: id });
    return true;
  }

  /** Adds a lease to the kept set: the stream's answers for its id reach it. */
  keep(lease: Lease): void {
    if (!this.kept.has(lease.id)) this.kept.set(lease.id, lease);
  }

  /** Drops a lease from the kept set; closes the stream when none is left. */
  forget(lease: Lease): void {
    if (this.kept.get(lease.id) !== lease) return;
    this.kept.delete(lease.id);
    if (this.kept.size === 0) this.closeStream();
  }

  private openStream(): grpc.ClientDuplexStream<Wire, Wire> | undefined {
    if (this.stream) return this.stream;
    if (this.connection.isClosed || this.reconnectTimer) return undefined;
    const address = this.connection.currentAddress;
    const stub = this.connection.stub('Lease', address) as unknown as {
      LeaseKeepAlive(metadata: grpc.Metadata): grpc.ClientDuplexStream<Wire, Wire>;
    };
    const stream = stub.LeaseKeepAlive(requireLeaderMetadata());
    this.stream = stream;
    this.streamAddress = address;
    stream.on('data', (r: Wire) => {
      // A stream already replaced may still deliver an answer: its renewals were forgotten.
      if (this.stream !== stream) return;
      this.reconnectAttempt = 0;
      this.kept.get(Number(r.ID))?.handleKeepAlive(Number(r.TTL));
    });
    stream.on('error', (err) => this.streamFailed(stream, toClientError(err, address)));
    stream.on('end', () => this.streamFailed(stream, undefined));
    return stream;
  }

  /** Drops the current keep-alive stream as if it had failed: fail over and reconnect. */
  abandonStream(): void {
    const stream = this.stream;
    if (!stream) return;
    this.streamFailed(
      stream,
      new ClientError(ErrorCode.CONNECTION_LOST, 'keep-alive stream stalled', 14, true, this.streamAddress),
    );
  }

  private streamFailed(stream: grpc.ClientDuplexStream<Wire, Wire>, err: ClientError | undefined): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    stream.cancel();
    for (const lease of this.kept.values()) lease.clearPending();
    if (this.kept.size === 0 || this.connection.isClosed) return;
    if (err?.code === ErrorCode.CANCELLED) return;
    if (this.streamAddress) this.connection.failover(this.streamAddress);
    this.reconnectAttempt++;
    const waitMs = this.connection.backoffMs(this.reconnectAttempt);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      // Renew every kept lease at once on the new stream.
      for (const lease of this.kept.values()) lease.renew();
    }, waitMs);
    this.reconnectTimer.unref();
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (stream) {
      stream.end();
      stream.cancel();
    }
  }

  /** Stops every keep-alive (leases are left to run out) and the stream. */
  close(): void {
    for (const lease of [...this.kept.values()]) lease.release();
    this.closeStream();
  }
}
