/**
 * The coordinator's decision stream as an async iterator: `for await (const d of
 * client.coordinator.watch({ participant }))`. The server streams one message per decision
 * (COMMIT or ABORT), at the revision that wrote it; votes and acks are not streamed (read
 * them with get/list). Like the KV watcher (watch.ts), a broken stream reconnects to the
 * next endpoint with backoff and resumes from the revision after the last decision
 * delivered, so none is lost or repeated; a compacted resume point fails the iterator with
 * COMPACTED (list the records anew, then watch from the list's revision + 1).
 */
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode } from '../common/errors.js';
import { AsyncQueue } from './async-queue.js';
import type { Connection, Wire } from './connection.js';
import { recordFromWire, type TxnDecisionEvent } from './coordinator-types.js';
import { type ClientError, toClientError } from './errors.js';

/** Which decisions a watch streams, and from where. */
export interface DecisionWatchOptions {
  /** Only transactions this participant takes part in. */
  participant?: string;
  /** Only this transaction. */
  txnId?: string;
  /** Replay decisions written at or after this revision (default: only those after the watch starts). */
  fromRevision?: number;
  /** Pause the stream when this many decisions wait unread (default 1024). */
  bufferedDecisionsMax?: number;
}

/** Errors after which the stream cannot resume. */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.INVALID_ARGUMENT,
  ErrorCode.COMPACTED,
  ErrorCode.FUTURE_REVISION,
]);

/** A running decision stream: iterate it, close() it when done. */
export class DecisionWatch implements AsyncIterable<TxnDecisionEvent> {
  /** How many times the stream broke and was reopened. */
  reconnects = 0;
  private readonly queue: AsyncQueue<TxnDecisionEvent>;
  private stream: grpc.ClientReadableStream<Wire> | undefined;
  /** Invariant: the revision a reopened stream starts from, one past the last decision delivered (0: not known yet). */
  private nextRevision: number;
  private attempt = 0;
  private closed = false;
  private readonly created: Promise<void>;
  private resolveCreated: () => void = () => undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly connection: Connection,
    private readonly options: DecisionWatchOptions = {},
  ) {
    this.nextRevision = options.fromRevision ?? 0;
    const high = options.bufferedDecisionsMax ?? 1024;
    this.queue = new AsyncQueue<TxnDecisionEvent>(
      { pause: () => this.stream?.pause(), resume: () => this.stream?.resume() },
      high,
      Math.floor(high / 8),
      () => this.close(),
    );
    this.created = new Promise((resolve) => {
      this.resolveCreated = resolve;
    });
    this.open();
  }

  /** Resolves once a member has confirmed the stream (decisions after this point are delivered). */
  ready(): Promise<void> {
    return this.created;
  }

  /** The revision the stream would resume from after a reconnect. */
  get resumeRevision(): number {
    return this.nextRevision;
  }

  private open(): void {
    if (this.closed) return;
    const address = this.connection.currentAddress;
    let stub: { Watch(request: Wire): grpc.ClientReadableStream<Wire> };
    try {
      stub = this.connection.stub('CoordinatorService', address) as unknown as typeof stub;
    } catch (err) {
      this.finish(toClientError(err));
      return;
    }
    const stream = stub.Watch({
      participant: this.options.participant ?? '',
      txn_id: this.options.txnId ?? '',
      from_revision: this.nextRevision,
    });
    this.stream = stream;
    stream.on('data', (m: Wire) => this.handle(stream, m));
    stream.on('error', (err) => this.broken(stream, toClientError(err, address), address));
    stream.on('end', () => this.broken(stream, undefined, address));
  }

  private handle(stream: grpc.ClientReadableStream<Wire>, m: Wire): void {
    if (stream !== this.stream) return;
    const revision = Number(m.header?.revision ?? 0);
    if (m.created) {
      this.attempt = 0;
      if (this.nextRevision === 0) this.nextRevision = revision + 1;
      this.resolveCreated();
      return;
    }
    let record: TxnDecisionEvent['record'];
    try {
      record = recordFromWire(m.record);
    } catch (err) {
      this.finish(toClientError(err));
      return;
    }
    this.nextRevision = Math.max(this.nextRevision, revision + 1);
    this.queue.push({ revision, record });
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
      this.finish(err);
      return;
    }
    if (this.connection.isClosed) {
      this.finish(this.connection.cancelled('cairn client: closed'));
      return;
    }
    this.connection.failover(address);
    this.attempt++;
    this.reconnects++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, this.connection.backoffMs(this.attempt));
  }

  /** Runs `listener` once when the stream ends (closed, or failed for good). */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  private notifyClosed(): void {
    for (const l of this.closeListeners.splice(0)) l();
  }

  private finish(err: ClientError): void {
    if (this.closed) return;
    this.closed = true;
    this.notifyClosed();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.queue.fail(err);
    this.resolveCreated();
  }

  /** Stops the stream; the iterator ends after the decisions already delivered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.notifyClosed();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.queue.end();
    this.resolveCreated();
  }

  [Symbol.asyncIterator](): AsyncIterator<TxnDecisionEvent> {
    return this.queue;
  }
}
