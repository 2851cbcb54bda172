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
import type { Connection, Wire } from './connection.js';
import { recordFromWire, type TxnDecisionEvent } from './coordinator-types.js';
import { toClientError } from './errors.js';
import type { ResumableCall } from './resuming-stream.js';
import { StreamIterator } from './stream-iterator.js';

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
export class DecisionWatch extends StreamIterator<TxnDecisionEvent> {
  /** Invariant: the revision a reopened stream starts from, one past the last decision delivered (0: not known yet). */
  private nextRevision: number;

  constructor(
    private readonly connection: Connection,
    private readonly options: DecisionWatchOptions = {},
  ) {
    super(connection, FATAL, options.bufferedDecisionsMax ?? 1024);
    this.nextRevision = options.fromRevision ?? 0;
    this.stream.start();
  }

  /** How many times the stream broke and was reopened. */
  get reconnects(): number {
    return this.stream.reconnects;
  }

  /** The revision the stream would resume from after a reconnect. */
  get resumeRevision(): number {
    return this.nextRevision;
  }

  protected open(address: string): ResumableCall {
    const stub = this.connection.stub('CoordinatorService', address) as unknown as {
      Watch(request: Wire): grpc.ClientReadableStream<Wire>;
    };
    return stub.Watch({
      participant: this.options.participant ?? '',
      txn_id: this.options.txnId ?? '',
      from_revision: this.nextRevision,
    });
  }

  protected handle(m: Wire): void {
    const revision = Number(m.header?.revision ?? 0);
    if (m.created) {
      if (this.nextRevision === 0) this.nextRevision = revision + 1;
      this.confirmed();
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
}
