/**
 * The SDK's entry point: `new Client({ endpoints })` connects to a Cairn (or etcd) cluster
 * and gives the KV, watch, lease and session APIs, and the coordination APIs built on them.
 * One Client per process is the intended use; close() ends everything it started.
 */
import { ClusterMembers, Maintenance } from './cluster.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { KV } from './kv.js';
import type { Bytes } from './kv-types.js';
import { type Lease, Leases } from './lease.js';
import { Session, type SessionOptions } from './session.js';
import { Watcher, type WatchOptions } from './watch.js';

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
  /** Membership of the cluster (etcd's Cluster service). */
  readonly cluster: ClusterMembers;
  /** Status, alarms, leadership transfer and snapshots (etcd's Maintenance service). */
  readonly maintenance: Maintenance;
  private readonly watchers = new Set<Watcher>();
  private readonly sessions = new Set<Session>();

  constructor(options: ClientOptions = {}) {
    this.connection = new Connection(options);
    this.kv = new KV(this.connection);
    this.leases = new Leases(this.connection);
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

  /** Starts a session (a lease kept alive for the life of the process). */
  async session(options: SessionOptions = {}): Promise<Session> {
    const session = await Session.create(this.leases, options);
    this.sessions.add(session);
    void session.done.then(() => this.sessions.delete(session));
    return session;
  }

  /** Stops watches and keep-alives and closes the channels. Sessions are revoked first unless `revokeSessions` is false. */
  async close(options: { revokeSessions?: boolean } = {}): Promise<void> {
    if (this.connection.isClosed) return;
    for (const w of this.watchers) w.close();
    this.watchers.clear();
    if (options.revokeSessions !== false) {
      await Promise.allSettled([...this.sessions].map((s) => s.close()));
    }
    this.sessions.clear();
    this.leases.close();
    this.connection.close();
  }
}
