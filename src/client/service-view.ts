/**
 * A live view of a service's instances over MembershipService.Subscribe: the snapshot first,
 * then the changes in revision order, applied by ViewState. When the stream breaks it
 * reconnects (the next endpoint after a connection failure, with backoff) and resumes with
 * from_revision = last applied + 1, so nothing is missed or applied twice; when that revision
 * was compacted (SUBSCRIPTION_COMPACTED) it subscribes again with 0 and the fresh snapshot
 * replaces the view. A subscriber cut off as too slow (SUBSCRIBER_TOO_SLOW) resumes too.
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode } from '../common/errors.js';
import type { ServiceName, Wire } from './connection.js';
import { ClientError, toClientError } from './errors.js';
import { LatestIterator } from './latest-iterator.js';
import type { ServiceInstance } from './registry-types.js';
import { shouldSwitchEndpoint } from './retry.js';
import { ViewState } from './view-state.js';

/** What a ServiceView needs of a Connection (a fake stands in for it in unit tests). */
export interface StreamSource {
  readonly currentAddress: string;
  readonly isClosed: boolean;
  stub(service: ServiceName, address?: string): grpc.Client;
  failover(address: string): void;
  backoffMs(attempt: number): number;
}

/** Which instances a view covers. */
export interface ServiceViewOptions {
  /** Every service whose name starts with the given name ("" with prefix: every service). */
  prefix?: boolean;
}

/** Events of a ServiceView. */
export interface ServiceViewEvents {
  /** The list changed: every instance now, sorted by service then id. */
  change: [instances: readonly ServiceInstance[]];
  /** The view failed for good (emitted only when someone listens; ready() and iterators fail too). */
  error: [error: ClientError];
}

/** Errors after which a subscription cannot be resumed. */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([ErrorCode.INVALID_ARGUMENT]);

/** A live, ordered view of the instances of a service (or of every service under a prefix). */
export class ServiceView
  extends EventEmitter<ServiceViewEvents>
  implements AsyncIterable<readonly ServiceInstance[]>
{
  private readonly state = new ViewState();
  private stream: grpc.ClientReadableStream<Wire> | undefined;
  /** Set after SUBSCRIPTION_COMPACTED: the next stream starts with a snapshot. */
  private resnapshot = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: ClientError | undefined;
  private readonly iterators = new Set<LatestIterator<readonly ServiceInstance[]>>();
  private readonly readyPromise: Promise<void>;
  private settleReady: (err?: ClientError) => void = () => undefined;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly source: StreamSource,
    /** The service (or prefix) this view covers. */
    readonly service: string,
    private readonly options: ServiceViewOptions = {},
  ) {
    super();
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    // A view nobody awaits must not report an unhandled rejection.
    this.readyPromise.catch(() => undefined);
    this.open();
  }

  /** Resolves once the first snapshot is applied; rejects if the view fails or closes first. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Every instance now, sorted by service then id (empty until ready). */
  instances(): readonly ServiceInstance[] {
    return this.state.instances;
  }

  /** The instances that take new traffic now (SERVING). */
  serving(): ServiceInstance[] {
    return this.state.instances.filter((i) => i.state === 'SERVING');
  }

  /** The revision the view reflects (0 before the first snapshot). */
  get revision(): number {
    return this.state.revision;
  }

  /** Whether close() was called or the view failed. */
  get isClosed(): boolean {
    return this.closed;
  }

  private open(): void {
    if (this.closed) return;
    if (this.source.isClosed) {
      this.fail(new ClientError(ErrorCode.CANCELLED, 'cairn client: closed', 1, false));
      return;
    }
    const address = this.source.currentAddress;
    const fromRevision = this.state.ready && !this.resnapshot ? this.state.revision + 1 : 0;
    if (fromRevision === 0) this.state.abandonSnapshot();
    let stream: grpc.ClientReadableStream<Wire>;
    try {
      const stub = this.source.stub('MembershipService', address) as unknown as {
        Subscribe(request: Wire): grpc.ClientReadableStream<Wire>;
      };
      stream = stub.Subscribe({
        service: this.service,
        prefix: this.options.prefix ?? false,
        from_revision: fromRevision,
      });
    } catch (err) {
      this.fail(toClientError(err, address));
      return;
    }
    this.stream = stream;
    stream.on('data', (m: Wire) => this.handle(stream, m));
    stream.on('error', (err) => this.broken(stream, toClientError(err, address), address));
    stream.on('end', () => this.broken(stream, undefined, address));
  }

  private handle(stream: grpc.ClientReadableStream<Wire>, message: Wire): void {
    if (stream !== this.stream) return;
    this.attempt = 0;
    const wasReady = this.state.ready;
    if (message.snapshot_done === true) this.resnapshot = false;
    const changed = this.state.apply(message);
    if (!wasReady && this.state.ready) this.settleReady();
    if (changed) {
      const list = this.state.instances;
      for (const it of this.iterators) it.offer(list);
      this.emit('change', list);
    }
  }

  private broken(
    stream: grpc.ClientReadableStream<Wire>,
    err: ClientError | undefined,
    address: string,
  ): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    stream.cancel();
    if (this.closed) return;
    if (err && FATAL.has(err.code)) {
      this.fail(err);
      return;
    }
    if (err?.code === ErrorCode.SUBSCRIPTION_COMPACTED) this.resnapshot = true;
    else if (!err || shouldSwitchEndpoint(err)) this.source.failover(address);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, this.source.backoffMs(this.attempt));
  }

  private fail(err: ClientError): void {
    if (this.closed) return;
    this.failure = err;
    this.stop();
    this.settleReady(err);
    for (const it of [...this.iterators]) it.end(err);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private stop(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    for (const l of this.closeListeners.splice(0)) l();
  }

  /** Runs `listener` once when the view closes or fails. */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Stops the subscription; iterators end, and ready() rejects if it had not resolved. */
  close(): void {
    if (this.closed) return;
    this.stop();
    this.settleReady(new ClientError(ErrorCode.CANCELLED, 'service view closed', 1, false));
    for (const it of [...this.iterators]) it.end();
  }

  /**
   * Iterates the list of instances: the current one once ready, then each change. A slow
   * consumer gets the newest list and skips the ones in between.
   */
  [Symbol.asyncIterator](): AsyncIterator<readonly ServiceInstance[]> {
    const it = new LatestIterator<readonly ServiceInstance[]>(() => this.iterators.delete(it));
    if (this.failure) it.end(this.failure);
    else if (this.closed) it.end();
    else {
      this.iterators.add(it);
      if (this.state.ready) it.offer(this.state.instances);
    }
    return it;
  }
}
