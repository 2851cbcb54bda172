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
import { type ResumableCall, ResumingStream } from './resuming-stream.js';

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
  private readonly queue: AsyncQueue<TxnDecisionEvent>;
  private readonly stream: ResumingStream;
  /** Invariant: the revision a reopened stream starts from, one past the last decision delivered (0: not known yet). */
  private nextRevision: number;
  private closed = false;
  private readonly created: Promise<void>;
  private resolveCreated: () => void = () => undefined;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly connection: Connection,
    private readonly options: DecisionWatchOptions = {},
  ) {
    this.nextRevision = options.fromRevision ?? 0;
    const high = options.bufferedDecisionsMax ?? 1024;
    this.queue = new AsyncQueue<TxnDecisionEvent>(
      { pause: () => this.stream.pause(), resume: () => this.stream.resume() },
      high,
      Math.floor(high / 8),
      () => this.close(),
    );
    this.created = new Promise((resolve) => {
      this.resolveCreated = resolve;
    });
    this.stream = new ResumingStream(connection, {
      fatal: FATAL,
      open: (address) => this.open(address),
      onMessage: (m) => this.handle(m),
      onFailed: (err) => this.finish(err),
    });
    this.stream.start();
  }

  /** How many times the stream broke and was reopened. */
  get reconnects(): number {
    return this.stream.reconnects;
  }

  /** Resolves once a member has confirmed the stream (decisions after this point are delivered). */
  ready(): Promise<void> {
    return this.created;
  }

  /** The revision the stream would resume from after a reconnect. */
  get resumeRevision(): number {
    return this.nextRevision;
  }

  private open(address: string): ResumableCall {
    const stub = this.connection.stub('CoordinatorService', address) as unknown as {
      Watch(request: Wire): grpc.ClientReadableStream<Wire>;
    };
    return stub.Watch({
      participant: this.options.participant ?? '',
      txn_id: this.options.txnId ?? '',
      from_revision: this.nextRevision,
    });
  }

  private handle(m: Wire): void {
    const revision = Number(m.header?.revision ?? 0);
    if (m.created) {
      this.stream.healthy();
      if (this.nextRevision === 0) this.nextRevision = revision + 1;
      this.resolveCreated();
      return;
    }
    let record: TxnDecisionEvent['record'];
    try {
      record = recordFromWire(m.record);
    } catch (err) {
      this.stream.fail(toClientError(err));
      return;
    }
    this.nextRevision = Math.max(this.nextRevision, revision + 1);
    this.queue.push({ revision, record });
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
    this.queue.fail(err);
    this.resolveCreated();
  }

  /** Stops the stream; the iterator ends after the decisions already delivered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.notifyClosed();
    this.stream.close();
    this.queue.end();
    this.resolveCreated();
  }

  [Symbol.asyncIterator](): AsyncIterator<TxnDecisionEvent> {
    return this.queue;
  }
}
