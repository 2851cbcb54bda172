/**
 * Leases: grant, revoke, time-to-live and list over etcd's Lease service, and `Lease`
 * objects kept alive automatically over one LeaseKeepAlive stream per client. A kept lease
 * renews every third of its TTL; it emits `lost` once when the cluster says it is gone, or
 * when its TTL (counted from the last renewal the client sent that was answered) runs out
 * before a renewal got through — from then on the keys attached to it must be presumed gone.
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

/** One lease the client holds; with keep-alive on, renewed until close(), revoke() or loss. */
export class Lease extends EventEmitter<LeaseEvents> {
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
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
    this.renewTimer = setInterval(() => this.renew(), this.renewIntervalMs());
    this.renewTimer.unref();
    this.armExpiry();
    this.renew();
    return this;
  }

  private renew(): void {
    if (this.lostReason) return;
    const oldestSentAtMs = this.pendingSentAtMs[0];
    if (oldestSentAtMs !== undefined && Date.now() - oldestSentAtMs >= this.renewIntervalMs()) {
      // The last renewal got no answer in a whole interval: the member behind the stream is
      // stuck (paused, partitioned, waiting on a dead leader). Move the stream elsewhere.
      this.leases.abandonStream();
    }
    if (this.pendingSentAtMs.length >= 8) this.pendingSentAtMs.shift();
    this.pendingSentAtMs.push(Date.now());
    this.leases.sendKeepAlive(this.id);
  }

  private renewIntervalMs(): number {
    return Math.max(RENEW_INTERVAL_MIN_MS, Math.floor((this.ttlSeconds * 1000) / 3));
  }

  /** Forgets renewals sent on a stream that was abandoned: their answers will never come. */
  clearPending(): void {
    this.pendingSentAtMs.length = 0;
  }

  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.markLost('expired'), Math.max(0, this.expiresAtMs - Date.now()));
    this.expiryTimer.unref();
  }

  /** Called by Leases with a keep-alive answer for this lease. */
  handleKeepAlive(ttlSeconds: number): void {
    if (this.lostReason) return;
    const sentAtMs = this.pendingSentAtMs.shift() ?? Date.now();
    if (ttlSeconds <= 0) {
      this.markLost('revoked-or-expired-on-cluster');
      return;
    }
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
    if (options.keepAlive !== false) {
      this.kept.set(lease.id, lease);
      lease.keepAlive();
    }
    return lease;
  }

  /** Keeps alive a lease granted elsewhere (by id), with `remainingSeconds` left now. */
  adopt(id: number, ttlSeconds: number, remainingSeconds: number): Lease {
    const existing = this.kept.get(id);
    if (existing) return existing;
    const lease = new Lease(this, id, ttlSeconds, Date.now() - (ttlSeconds - remainingSeconds) * 1000);
    this.kept.set(id, lease);
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

  /** Sends one renewal on the shared stream (opened on demand). */
  sendKeepAlive(id: number): void {
    const stream = this.openStream();
    if (stream) stream.write({ ID: id });
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
      for (const id of this.kept.keys()) this.sendKeepAlive(id);
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
