/**
 * The client's connection to a cluster: one gRPC channel per endpoint shared by every
 * service, unary calls with an overall deadline, retries with backoff and jitter on errors
 * that are safe to retry, failover to the next endpoint, and leader-aware routing (writes go
 * to the member that leads, learned from Maintenance.Status, so they skip the follower's
 * forwarding hop; any member could serve them). A follower serves a write it is sent, so a
 * leadership move shows no error: the client notices it in the raft term every response
 * header carries, and asks again who leads when the term is newer than the one it learnt in.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode } from '../common/errors.js';
import { cairnService, etcdServices } from '../common/proto-loader.js';
import { type AuthCredentials, TokenSource } from './auth-token.js';
import {
  channelCredentials,
  DEFAULT_ENDPOINTS,
  type Endpoint,
  parseEndpoint,
  type TlsOptions,
} from './endpoints.js';
import { ClientError, toClientError } from './errors.js';
import {
  backoffMs,
  type RetryOptions,
  type RetryPolicy,
  retryPolicy,
  shouldRetry,
  shouldSwitchEndpoint,
} from './retry.js';

/** Every service a client talks to, by the name its methods are reached under. */
export type ServiceName =
  | 'KV'
  | 'Watch'
  | 'Lease'
  | 'Cluster'
  | 'Maintenance'
  | 'Auth'
  | 'Lock'
  | 'Election'
  | 'LockService'
  | 'MembershipService'
  | 'CoordinatorService';

/** A decoded protobuf message as proto-loader gives it (snake_case fields, int64 as number). */
// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects are untyped; modules type their own views.
export type Wire = any;

/** How a client connects; every field has a default. */
export interface ConnectionOptions {
  /** Endpoints (host:port or http(s)://host:port); default: the local cluster `npm start` runs. */
  endpoints?: readonly string[];
  /** TLS material; required to verify https endpoints signed by a private CA. */
  tls?: TlsOptions;
  /** Deadline of a call, retries included, unless the call sets its own (default 10,000 ms). */
  deadlineMs?: number;
  /** Retry policy for calls that fail retriably. */
  retry?: RetryOptions;
  /** A source of numbers in [0, 1) for jitter; inject one for deterministic tests. */
  random?: () => number;
  /** A user and password for a cluster with auth enabled: every call then carries the user's token. */
  auth?: AuthCredentials;
}

/** Per-call options. */
export interface CallOptions {
  /** Overall deadline for this call, retries included. */
  deadlineMs?: number;
  /** The call may be sent twice without harm: it is retried even when a failure leaves its outcome unknown. */
  idempotent?: boolean;
  /** Send to the leader when it is known (writes). */
  leader?: boolean;
  /** Aborts the call (it fails with CANCELLED). */
  signal?: AbortSignal;
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 2 ** 31 - 1,
  'grpc.max_send_message_length': 2 ** 31 - 1,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

/**
 * Metadata asking a member to serve a stream only while it knows a leader (etcd's
 * `hasleader`): a member cut off from the others ends the stream, and the SDK moves it to one
 * that is not, instead of waiting on a watch that can never see another event.
 */
export function requireLeaderMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('hasleader', 'true');
  return metadata;
}

/** How often, at most, the client asks who leads (ms). */
const LEADER_REFRESH_MIN_INTERVAL_MS = 500;

function constructors(): Record<ServiceName, grpc.ServiceClientConstructor> {
  const etcd = etcdServices();
  return {
    ...etcd,
    LockService: cairnService('lock.proto', 'LockService'),
    MembershipService: cairnService('membership.proto', 'MembershipService'),
    CoordinatorService: cairnService('coordinator.proto', 'CoordinatorService'),
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A client's channels, stubs and call policy; the SDK's modules all call through one. */
export class Connection {
  /** The parsed endpoints, in the order given. */
  readonly endpoints: readonly Endpoint[];
  /** The default deadline of a call (ms). */
  readonly deadlineMs: number;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly channelOptions: grpc.ChannelOptions;
  private readonly ctors = constructors();
  private readonly channels = new Map<string, grpc.Channel>();
  private readonly stubs = new Map<string, grpc.Client>();
  /** Index into endpoints of the member reads and streams go to; moves on on failure. */
  private preferred: number;
  private leaderAddress: string | undefined;
  /** The raft term the leader was learnt in; a response from a later term means it may have changed. */
  private leaderTerm = 0;
  private leaderRefreshedAtMs = Number.NEGATIVE_INFINITY;
  private leaderRefresh: Promise<void> | undefined;
  private closed = false;
  /** Unary calls sent and not answered yet; close() cancels them (closing a channel does not). */
  private readonly inFlight = new Set<grpc.ClientUnaryCall>();
  /** The user's token, when auth credentials were given. */
  private readonly tokens: TokenSource | undefined;

  constructor(options: ConnectionOptions = {}) {
    const list = options.endpoints ?? DEFAULT_ENDPOINTS;
    if (list.length === 0) throw new ClientError(ErrorCode.INVALID_ARGUMENT, 'no endpoints given', 3, false);
    try {
      this.endpoints = list.map(parseEndpoint);
      this.credentials = channelCredentials(this.endpoints, options.tls);
    } catch (err) {
      throw new ClientError(
        ErrorCode.INVALID_ARGUMENT,
        (err as Error).message,
        grpc.status.INVALID_ARGUMENT,
        false,
      );
    }
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.retry = retryPolicy(options.retry);
    this.random = options.random ?? Math.random;
    this.channelOptions =
      options.tls?.serverName !== undefined
        ? { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': options.tls.serverName }
        : CHANNEL_OPTIONS;
    const auth = options.auth;
    if (auth) {
      this.tokens = new TokenSource(async () => {
        const r = await this.unary('Auth', 'Authenticate', { name: auth.username, password: auth.password });
        return String(r.token);
      });
    }
    // Spread the clients of one fleet over the members.
    this.preferred = Math.floor(this.random() * this.endpoints.length) % this.endpoints.length;
  }

  /** The endpoint reads and streams go to now. */
  get currentAddress(): string {
    return (this.endpoints[this.preferred] as Endpoint).address;
  }

  /** The leader's address when it is known and among the endpoints. */
  get knownLeaderAddress(): string | undefined {
    return this.leaderAddress;
  }

  /** A stub of `service` on `address` (default: the preferred endpoint), sharing that endpoint's channel. */
  stub(service: ServiceName, address: string = this.currentAddress): grpc.Client {
    this.assertOpen();
    const key = `${service}@${address}`;
    let stub = this.stubs.get(key);
    if (!stub) {
      let channel = this.channels.get(address);
      if (!channel) {
        channel = new grpc.Channel(address, this.credentials, this.channelOptions);
        this.channels.set(address, channel);
      }
      stub = new this.ctors[service](address, this.credentials, {
        channelOverride: channel,
        ...(this.tokens ? { interceptors: [this.tokens.interceptor()] } : {}),
      });
      this.stubs.set(key, stub);
    }
    return stub;
  }

  /** Moves reads and streams off `address` to the next endpoint (after a failure there). */
  failover(address: string): void {
    if (this.currentAddress === address) this.preferred = (this.preferred + 1) % this.endpoints.length;
    if (this.leaderAddress === address) this.leaderAddress = undefined;
  }

  /** The wait before retry number `attempt` (1-based), with jitter. */
  backoffMs(attempt: number): number {
    return backoffMs(this.retry, attempt, this.random);
  }

  /** Calls a unary method with the deadline, retry, failover and routing rules of this connection. */
  async unary(service: ServiceName, method: string, request: Wire, options: CallOptions = {}): Promise<Wire> {
    const deadlineAtMs = Date.now() + (options.deadlineMs ?? this.deadlineMs);
    let attempt = 0;
    if (options.leader && this.leaderAddress === undefined) this.maybeRefreshLeader();
    for (;;) {
      this.assertOpen();
      if (options.signal?.aborted) throw this.cancelled();
      const address = (options.leader ? this.leaderAddress : undefined) ?? this.currentAddress;
      try {
        const response = await this.once(service, method, request, address, deadlineAtMs, options.signal);
        if (options.leader) this.noteTerm(response);
        return response;
      } catch (raw) {
        const err = toClientError(raw, address);
        attempt++;
        // A member forgot the token (it expired or the member restarted): authenticate again, once.
        if (err.code === ErrorCode.INVALID_AUTH_TOKEN && this.tokens && attempt === 1) continue;
        if (shouldSwitchEndpoint(err)) this.failover(address);
        if (err.code === ErrorCode.NOT_LEADER || err.code === ErrorCode.NO_LEADER) this.maybeRefreshLeader();
        const waitMs = this.backoffMs(attempt);
        if (
          attempt >= this.retry.attemptsMax ||
          !shouldRetry(err, options.idempotent === true) ||
          Date.now() + waitMs >= deadlineAtMs
        ) {
          throw err;
        }
        await sleep(waitMs, options.signal);
      }
    }
  }

  private once(
    service: ServiceName,
    method: string,
    request: Wire,
    address: string,
    deadlineAtMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Wire> {
    type UnaryFn = (
      this: grpc.Client,
      request: Wire,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      callback: (err: Error | null, response: Wire) => void,
    ) => grpc.ClientUnaryCall;
    const stub = this.stub(service, address);
    const fn = (stub as unknown as Record<string, UnaryFn | undefined>)[method];
    if (typeof fn !== 'function') {
      throw new ClientError(ErrorCode.INVALID_ARGUMENT, `${service} has no method ${method}`, 12, false);
    }
    const inFlight = this.inFlight;
    return new Promise((resolve, reject) => {
      const call = fn.call(
        stub,
        request,
        new grpc.Metadata(),
        { deadline: new Date(deadlineAtMs) },
        (err: Error | null, response: Wire) => {
          inFlight.delete(call);
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(response);
        },
      );
      inFlight.add(call);
      function onAbort(): void {
        call.cancel();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Asks again who leads when a response comes from a later raft term than the known leader's. */
  private noteTerm(response: Wire): void {
    const term = Number(response?.header?.raft_term ?? 0);
    if (term > this.leaderTerm) this.maybeRefreshLeader();
  }

  /** Asks (in the background, throttled) which member leads and remembers its address when it is an endpoint. */
  maybeRefreshLeader(): void {
    if (
      this.closed ||
      this.leaderRefresh ||
      Date.now() - this.leaderRefreshedAtMs < LEADER_REFRESH_MIN_INTERVAL_MS
    ) {
      return;
    }
    this.leaderRefreshedAtMs = Date.now();
    this.leaderRefresh = this.refreshLeader()
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => {
        this.leaderRefresh = undefined;
      });
  }

  /** Finds the leader now: Status on the preferred endpoint, then its client URLs from MemberList. */
  async refreshLeader(): Promise<string | undefined> {
    const address = this.currentAddress;
    const deadlineAtMs = Date.now() + 1_000;
    const status = await this.once('Maintenance', 'Status', {}, address, deadlineAtMs, undefined);
    const leaderId = Number(status.leader ?? 0);
    this.leaderTerm = Math.max(this.leaderTerm, Number(status.raftTerm ?? status.header?.raft_term ?? 0));
    if (leaderId === 0) {
      this.leaderAddress = undefined;
      return undefined;
    }
    const list = await this.once(
      'Cluster',
      'MemberList',
      { linearizable: false },
      address,
      deadlineAtMs,
      undefined,
    );
    const leader = (list.members as Wire[]).find((m) => Number(m.ID) === leaderId);
    const known = new Set(this.endpoints.map((e) => e.address));
    const match = ((leader?.clientURLs ?? []) as string[])
      .map((u) => {
        try {
          return new URL(u).host;
        } catch {
          return '';
        }
      })
      .find((host) => known.has(host));
    this.leaderAddress = match;
    return match;
  }

  /** The error a call gets after close() or an abort. */
  cancelled(message = 'cairn client: call cancelled'): ClientError {
    return new ClientError(ErrorCode.CANCELLED, message, grpc.status.CANCELLED, true);
  }

  private assertOpen(): void {
    if (this.closed) throw this.cancelled('cairn client: closed');
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes every stub and channel; calls in flight fail with CANCELLED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A closed channel lets its calls run on: a lock or campaign waiting on the server would
    // keep the process alive until its lease ran out. Cancel them.
    for (const call of this.inFlight) call.cancel();
    this.inFlight.clear();
    for (const stub of this.stubs.values()) stub.close();
    for (const channel of this.channels.values()) channel.close();
    this.stubs.clear();
    this.channels.clear();
  }
}
