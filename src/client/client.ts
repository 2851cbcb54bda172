/**
 * The SDK's entry point: `new Client({ endpoints })` connects to a Cairn (or etcd) cluster
 * and gives the KV, watch, lease and session APIs, and the coordination APIs built on them.
 * One Client per process is the intended use; close() ends everything it started.
 */
import { ClusterMembers, Maintenance } from './cluster.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { Coordinator } from './coordinator.js';
import { Election, type ElectionOptions } from './election.js';
import { KV } from './kv.js';
import { type Bytes, toBytes } from './kv-types.js';
import { type Lease, Leases } from './lease.js';
import type { LockHandle } from './lock-handle.js';
import { type LockContext, type LockOptions, Locks, type TryLockResult } from './locks.js';
import { Registry } from './registry.js';
import { Session, type SessionOptions } from './session.js';
import { Watcher, type WatchOptions } from './watch.js';

/** How long close() waits for campaigns in flight to leave the line before it closes the channels. */
const CAMPAIGNS_END_WAIT_MS = 2000;

/** Options of a Client: endpoints, TLS, default deadline, retry policy. */
export type ClientOptions = ConnectionOptions;

/** A connection to a cluster with every API of the SDK. */
export class Client {
  /** Channels, routing and retries; shared by every API of this client. */
  readonly connection: Connection;
  /** Key-value calls and transactions. */
  readonly kv: KV;
  /** Lease calls and the keep-alive stream. */
  readonly leases: Leases;
  /** Two-phase-commit records and participants (Cairn's CoordinatorService). */
  readonly coordinator: Coordinator;
  /** The service registry: register instances, subscribe to services. */
  readonly registry: Registry;
  /** Membership of the cluster (etcd's Cluster service). */
  readonly cluster: ClusterMembers;
  /** Status, alarms, leadership transfer and snapshots (etcd's Maintenance service). */
  readonly maintenance: Maintenance;
  private readonly watchers = new Set<Watcher>();
  private readonly sessions = new Set<Session>();
  /** Aborted first by close(): campaigns in flight end with CANCELLED and leave the line. */
  private readonly closing = new AbortController();
  /** Election campaigns under way (see election()). */
  private readonly campaigns = new Set<Promise<unknown>>();

  constructor(options: ClientOptions = {}) {
    this.connection = new Connection(options);
    this.kv = new KV(this.connection);
    this.leases = new Leases(this.connection);
    this.coordinator = new Coordinator(this.connection);
    this.registry = new Registry(this.connection, this.leases);
    this.cluster = new ClusterMembers(this.connection);
    this.maintenance = new Maintenance(this.connection);
  }

  /** Watches a key or a range; iterate the result, close() it when done. */
  watch(key: Bytes, options: WatchOptions = {}): Watcher {
    const watcher = new Watcher(this.connection, key, options);
    this.watchers.add(watcher);
    watcher.onClosed(() => this.watchers.delete(watcher));
    return watcher;
  }

  /** Grants a lease kept alive until it is revoked, released or lost. */
  lease(ttlSeconds: number, options: { id?: number; keepAlive?: boolean } = {}): Promise<Lease> {
    return this.leases.grant(ttlSeconds, options);
  }

  private lockApi: Locks | undefined;

  /** Mutexes, read-write locks, semaphores and lock queries over Cairn's LockService. */
  get locks(): Locks {
    this.lockApi ??= new Locks(this.connection, this.leases);
    return this.lockApi;
  }

  /** Takes the exclusive lock `name`, waiting in line (see Locks.lock). */
  lock(name: Bytes, options: LockOptions = {}): Promise<LockHandle> {
    return this.locks.lock(name, options);
  }

  /** Takes the exclusive lock `name` only if it is free (see Locks.tryLock). */
  tryLock(name: Bytes, options: Omit<LockOptions, 'waitTimeoutMs'> = {}): Promise<TryLockResult> {
    return this.locks.tryLock(name, options);
  }

  /** Runs fn under the exclusive lock `name`, released on every path (see Locks.withLock). */
  withLock<T>(name: Bytes, fn: (ctx: LockContext) => Promise<T> | T, options: LockOptions = {}): Promise<T> {
    return this.locks.withLock(name, fn, options);
  }

  /** This process's part in the election `name` (etcd's Election service). */
  election(name: Bytes, options: ElectionOptions = {}): Election {
    return new Election(this.connection, (o) => this.session(o), toBytes(name), options, {
      signal: this.closing.signal,
      track: (campaign) => {
        this.campaigns.add(campaign);
        const forget = (): void => {
          this.campaigns.delete(campaign);
        };
        campaign.then(forget, forget);
      },
    });
  }

  /** Starts a session (a lease kept alive for the life of the process). */
  async session(options: SessionOptions = {}): Promise<Session> {
    const session = await Session.create(this.leases, options);
    this.sessions.add(session);
    void session.done.then(() => this.sessions.delete(session));
    return session;
  }

  /**
   * Stops watches, views and keep-alives, ends waits for locks and election campaigns (they
   * leave the line, failing with CANCELLED) and closes the channels, failing calls in flight
   * with CANCELLED. Held locks are released, sessions revoked and registrations deregistered
   * first unless `revokeSessions` is false.
   */
  async close(options: { revokeSessions?: boolean } = {}): Promise<void> {
    if (this.connection.isClosed) return;
    for (const w of this.watchers) w.close();
    this.watchers.clear();
    this.coordinator.close();
    // Campaigns leave the line while the channels are still open (bounded, as lock waits).
    this.closing.abort();
    await Promise.race([
      Promise.allSettled([...this.campaigns]),
      new Promise((resolve) => setTimeout(resolve, CAMPAIGNS_END_WAIT_MS).unref()),
    ]);
    if (options.revokeSessions !== false) {
      await this.lockApi?.releaseAll();
      await Promise.allSettled([...this.sessions].map((s) => s.close()));
    }
    this.sessions.clear();
    await this.registry.close({ deregister: options.revokeSessions !== false });
    this.leases.close();
    this.connection.close();
  }
}
