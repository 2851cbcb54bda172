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
import { ClientError } from './errors.js';
import { LatestIterator } from './latest-iterator.js';
import type { ServiceInstance } from './registry-types.js';
import { type ResumableCall, ResumingStream, type StreamEndpoints } from './resuming-stream.js';
import { shouldSwitchEndpoint } from './retry.js';
import { ViewState } from './view-state.js';

/** What a ServiceView needs of a Connection (a fake stands in for it in unit tests). */
export interface StreamSource extends StreamEndpoints {
  /** The gRPC client of a service on an endpoint (the current one when none is given). */
  stub(service: ServiceName, address?: string): grpc.Client;
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
  private readonly stream: ResumingStream;
  /** Set after SUBSCRIPTION_COMPACTED: the next stream starts with a snapshot. */
  private resnapshot = false;
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
    this.stream = new ResumingStream(source, {
      fatal: FATAL,
      open: (address) => this.open(address),
      onMessage: (m) => this.handle(m),
      onFailed: (err) => this.fail(err),
      failoverOn: (err) => {
        // A compacted resume point: subscribe again with a snapshot, on the same member.
        if (err?.code === ErrorCode.SUBSCRIPTION_COMPACTED) {
          this.resnapshot = true;
          return false;
        }
        return !err || shouldSwitchEndpoint(err);
      },
    });
    this.stream.start();
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

  private open(address: string): ResumableCall {
    const fromRevision = this.state.ready && !this.resnapshot ? this.state.revision + 1 : 0;
    if (fromRevision === 0) this.state.abandonSnapshot();
    const stub = this.source.stub('MembershipService', address) as unknown as {
      Subscribe(request: Wire): grpc.ClientReadableStream<Wire>;
    };
    return stub.Subscribe({
      service: this.service,
      prefix: this.options.prefix ?? false,
      from_revision: fromRevision,
    });
  }

  private handle(message: Wire): void {
    this.stream.healthy();
    const wasReady = this.state.ready;
    if (message.snapshot_done === true) this.resnapshot = false;
    const changed = this.state.apply(message);
    const becameReady = !wasReady && this.state.ready;
    if (becameReady) this.settleReady();
    // The first snapshot is news even when it is empty: iterators and listeners learn the start.
    if (changed || becameReady) {
      const list = this.state.instances;
      for (const it of this.iterators) it.offer(list);
      this.emit('change', list);
    }
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
    this.stream.close();
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
