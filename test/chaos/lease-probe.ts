/**
 * A lease checker for chaos runs, where faults include jumps of the leader's wall clock:
 * leases must be timed by a monotonic clock, so a jump must neither expire one early nor
 * keep one alive. Two clients run while the nemesis plays:
 *
 * - kept: grants a lease and keeps it alive (a keep-alive every renewEveryMs). Whenever it
 *   learns the lease is gone (a keep-alive answers TTL 0), that answer must come at least
 *   TTL after the last keep-alive that succeeded was sent: earlier is a lease revoked while
 *   its keep-alives succeeded. (Later is an honest expiry: faults kept keep-alives from
 *   arriving for a whole TTL; the client grants a new lease and goes on.)
 * - expiring: grants a short lease, attaches a key, renews it once, then lets it go and
 *   reads the key linearizably until it is gone. The key must not vanish before TTL after
 *   the renewal was sent, and must be gone by TTL + slackMs after the renewal was answered.
 *
 * Times are the client's monotonic clock (performance.now); no member clock is trusted.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { call, sleep } from './cluster.js';

/** How the probe runs. */
export interface LeaseProbeOptions {
  readonly endpoints: readonly string[];
  /** TTL of the kept lease. */
  readonly keptTtlSeconds: number;
  /** TTL of each expiring lease. */
  readonly expiringTtlSeconds: number;
  readonly renewEveryMs: number;
  /** How long past its TTL an un-renewed lease may live (leader changes extend it). */
  readonly slackMs: number;
  readonly requestTimeoutMs: number;
}

/** What the probe saw. */
export interface LeaseProbeResult {
  readonly pass: boolean;
  readonly violations: readonly string[];
  readonly keptRenewals: number;
  /** Kept leases lost after their keep-alives failed for a whole TTL (allowed). */
  readonly keptLostAfterOutage: number;
  /** Expiring leases seen to expire within bounds. */
  readonly expiredInBounds: number;
}

/** Default probe settings for a chaos cluster with a 500 ms election timeout. */
export const LEASE_PROBE_DEFAULTS: Omit<LeaseProbeOptions, 'endpoints'> = {
  keptTtlSeconds: 3,
  expiringTtlSeconds: 2,
  renewEveryMs: 300,
  slackMs: 20_000,
  requestTimeoutMs: 1000,
};

interface KeepAliveStream extends grpc.ClientDuplexStream<object, { ID: number; TTL: number }> {}

/** Runs the lease probe until shouldStop(). */
export class LeaseProbe {
  private readonly violations: string[] = [];
  private keptRenewals = 0;
  private keptLostAfterOutage = 0;
  private expiredInBounds = 0;
  private readonly leases: grpc.Client[];
  private readonly kvs: grpc.Client[];
  private next = 0;

  constructor(private readonly opts: LeaseProbeOptions) {
    const { Lease, KV } = etcdServices();
    const o = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 };
    this.leases = opts.endpoints.map((e) => new Lease(e, grpc.credentials.createInsecure(), o));
    this.kvs = opts.endpoints.map((e) => new KV(e, grpc.credentials.createInsecure(), o));
  }

  /** Runs both clients until shouldStop(), then closes its connections. */
  async run(shouldStop: () => boolean): Promise<LeaseProbeResult> {
    try {
      await Promise.all([this.kept(shouldStop), this.expiring(shouldStop)]);
    } finally {
      for (const c of [...this.leases, ...this.kvs]) c.close();
    }
    return {
      pass: this.violations.length === 0,
      violations: this.violations,
      keptRenewals: this.keptRenewals,
      keptLostAfterOutage: this.keptLostAfterOutage,
      expiredInBounds: this.expiredInBounds,
    };
  }

  private pickIndex(): number {
    this.next = (this.next + 1) % this.opts.endpoints.length;
    return this.next;
  }

  /** Grants a lease on some member; its id, or undefined on failure. */
  private async grant(ttlSeconds: number): Promise<number | undefined> {
    try {
      const r = await call<{ ID: number; TTL: number }>(
        this.leases[this.pickIndex()]!,
        'LeaseGrant',
        { TTL: ttlSeconds, ID: 0 },
        this.opts.requestTimeoutMs,
      );
      return r.ID;
    } catch {
      return undefined;
    }
  }

  /** One keep-alive on a fresh stream: the TTL answered, or undefined without an answer. */
  private keepAlive(id: number, member: number): Promise<number | undefined> {
    const client = this.leases[member]!;
    const stream = (
      client as unknown as { LeaseKeepAlive: (o: grpc.CallOptions) => KeepAliveStream }
    ).LeaseKeepAlive({ deadline: Date.now() + this.opts.requestTimeoutMs });
    return new Promise((resolve) => {
      const done = (ttl: number | undefined): void => {
        stream.removeAllListeners('data');
        stream.on('error', () => {});
        stream.cancel();
        resolve(ttl);
      };
      stream.on('data', (r: { ID: number; TTL: number }) => done(Number(r.TTL)));
      stream.on('error', () => done(undefined));
      stream.on('end', () => done(undefined));
      stream.write({ ID: id });
    });
  }

  private async kept(shouldStop: () => boolean): Promise<void> {
    const ttlMs = this.opts.keptTtlSeconds * 1000;
    let member = 0;
    while (!shouldStop()) {
      const sentMs = performance.now();
      const id = await this.grant(this.opts.keptTtlSeconds);
      if (id === undefined) {
        await sleep(200);
        continue;
      }
      // The grant counts as a renewal sent at sentMs: the lease lives at least TTL from then.
      let lastOkSentMs = sentMs;
      while (!shouldStop()) {
        await sleep(this.opts.renewEveryMs);
        const sent = performance.now();
        const ttl = await this.keepAlive(id, member);
        if (ttl === undefined) {
          member = this.pickIndex();
          continue;
        }
        if (ttl > 0) {
          lastOkSentMs = sent;
          this.keptRenewals++;
          continue;
        }
        const answeredMs = performance.now();
        if (answeredMs < lastOkSentMs + ttlMs)
          this.violations.push(
            `kept lease ${id.toString(16)} reported expired ${Math.round(answeredMs - lastOkSentMs)} ms after its last successful keep-alive was sent (TTL ${ttlMs} ms)`,
          );
        else this.keptLostAfterOutage++;
        break;
      }
    }
  }

  /** Whether the key exists, read linearizably; undefined when the read failed. */
  private async exists(key: string): Promise<boolean | undefined> {
    try {
      const r = await call<{ kvs: unknown[] }>(
        this.kvs[this.pickIndex()]!,
        'Range',
        { key: Buffer.from(key) },
        this.opts.requestTimeoutMs,
      );
      return r.kvs.length > 0;
    } catch {
      return undefined;
    }
  }

  private async expiring(shouldStop: () => boolean): Promise<void> {
    const ttlMs = this.opts.expiringTtlSeconds * 1000;
    for (let n = 0; !shouldStop(); n++) {
      const id = await this.grant(this.opts.expiringTtlSeconds);
      if (id === undefined) {
        await sleep(200);
        continue;
      }
      const key = `lease-probe/expiring/${n}`;
      try {
        await call(
          this.kvs[this.pickIndex()]!,
          'Put',
          { key: Buffer.from(key), value: Buffer.from('x'), lease: id },
          this.opts.requestTimeoutMs,
        );
      } catch {
        continue; // Unknown whether the key exists: this lease proves nothing.
      }
      await sleep(300);
      const sentMs = performance.now();
      const ttl = await this.keepAlive(id, this.pickIndex());
      const answeredMs = performance.now();
      if (ttl === undefined || ttl <= 0) continue; // No clean last renewal to measure from.
      for (;;) {
        if (shouldStop()) return;
        await sleep(200);
        const readSentMs = performance.now();
        const present = await this.exists(key);
        const readAnsweredMs = performance.now();
        if (present === undefined) continue;
        if (!present) {
          if (readAnsweredMs < sentMs + ttlMs)
            this.violations.push(
              `expiring lease ${id.toString(16)} was gone ${Math.round(readAnsweredMs - sentMs)} ms after its renewal was sent (TTL ${ttlMs} ms)`,
            );
          else this.expiredInBounds++;
          break;
        }
        if (readSentMs > answeredMs + ttlMs + this.opts.slackMs) {
          this.violations.push(
            `expiring lease ${id.toString(16)} still alive ${Math.round(readSentMs - answeredMs)} ms after its last renewal (TTL ${ttlMs} ms + slack ${this.opts.slackMs} ms)`,
          );
          break;
        }
      }
    }
  }
}
