/**
 * Watches as async iterators: `for await (const event of client.watch(key, { prefix: true }))`.
 * Each watcher has its own Watch stream; when the stream breaks (a member dies, a network
 * blip, the server cancels a slow watcher) it reconnects, to the next endpoint, and resumes
 * from the revision after the last event it delivered, so nothing is lost or repeated. If that
 * revision was compacted meanwhile, the iterator fails with a COMPACTED ClientError that
 * carries `compactRevision`: history is gone, and the caller must read the current state anew.
 */
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode } from '../common/errors.js';
import { type Connection, requireLeaderMetadata, type Wire } from './connection.js';
import { ClientError } from './errors.js';
import {
  type Bytes,
  type KeyValue,
  keyValueOf,
  optionalKeyValue,
  type RangeSelector,
  rangeEndOf,
  toBytes,
} from './kv-types.js';
import type { ResumableCall } from './resuming-stream.js';
import { StreamIterator } from './stream-iterator.js';

/** What a watch covers and how. */
export interface WatchOptions extends RangeSelector {
  /** Deliver history from this revision on (default: only changes after the watch starts). */
  startRevision?: number;
  /** Include each key's previous value. */
  prevKv?: boolean;
  /** Leave out puts. */
  noPut?: boolean;
  /** Leave out deletes. */
  noDelete?: boolean;
  /** Ask the server for periodic progress notifications (keeps the resume point fresh on quiet keys). */
  progressNotify?: boolean;
  /** Pause the stream when this many events wait unread (default 4096). */
  bufferedEventsMax?: number;
}

/** One change. */
export interface WatchEvent {
  /** Whether the key was written or deleted. */
  type: 'put' | 'delete';
  /** The key-value after the change (for a delete: the key, and the revision of the delete). */
  kv: KeyValue;
  /** The key-value before the change, when prevKv was asked for. */
  prevKv?: KeyValue;
}

/** Errors after which a watch cannot resume. */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.INVALID_ARGUMENT,
  ErrorCode.EMPTY_KEY,
  ErrorCode.COMPACTED,
  ErrorCode.FUTURE_REVISION,
  ErrorCode.CANCELLED,
]);

/** A running watch: iterate it for events, close() it when done. */
export class Watcher extends StreamIterator<WatchEvent> {
  private readonly key: Buffer;
  private readonly rangeEnd: Buffer;
  /** The revision a resumed watch starts from: after the last one delivered (0: not known yet). */
  private nextRevision: number;

  constructor(
    private readonly connection: Connection,
    key: Bytes,
    private readonly options: WatchOptions = {},
  ) {
    super(connection, FATAL, options.bufferedEventsMax ?? 4096);
    this.key = toBytes(key);
    this.rangeEnd = rangeEndOf(this.key, options);
    this.nextRevision = options.startRevision ?? 0;
    this.stream.start();
  }

  /** The revision the watch would resume from after a reconnect. */
  get resumeRevision(): number {
    return this.nextRevision;
  }

  protected open(address: string): ResumableCall {
    const stub = this.connection.stub('Watch', address) as unknown as {
      Watch(metadata: grpc.Metadata): grpc.ClientDuplexStream<Wire, Wire>;
    };
    const call = stub.Watch(requireLeaderMetadata());
    const filters: number[] = [];
    if (this.options.noPut) filters.push(0);
    if (this.options.noDelete) filters.push(1);
    call.write({
      create_request: {
        key: this.key,
        range_end: this.rangeEnd,
        start_revision: this.nextRevision,
        progress_notify: this.options.progressNotify ?? false,
        filters,
        prev_kv: this.options.prevKv ?? false,
      },
    });
    return call;
  }

  protected handle(r: Wire, address: string): void {
    const headerRevision = Number(r.header?.revision ?? 0);
    if (r.created) {
      if (this.nextRevision === 0) this.nextRevision = headerRevision + 1;
      this.confirmed();
    }
    if (r.canceled) {
      const compactRevision = Number(r.compact_revision ?? 0);
      if (compactRevision > 0) {
        this.stream.fail(
          new ClientError(
            ErrorCode.COMPACTED,
            `watch from revision ${this.nextRevision} cannot resume: compacted up to ${compactRevision}`,
            11,
            false,
            address,
            compactRevision,
          ),
        );
        return;
      }
      // Cancelled by the server (a slow watcher, a removed member): resume on a fresh stream.
      this.stream.restart(
        new ClientError(
          ErrorCode.CONNECTION_LOST,
          String(r.cancel_reason ?? 'watch canceled'),
          14,
          true,
          address,
        ),
      );
      return;
    }
    const events = (r.events ?? []) as Wire[];
    for (const e of events) {
      const kv = keyValueOf(e.kv);
      const prevKv = optionalKeyValue(e.prev_kv);
      this.nextRevision = Math.max(this.nextRevision, kv.modRevision + 1);
      this.queue.push({ type: Number(e.type) === 1 ? 'delete' : 'put', kv, ...(prevKv ? { prevKv } : {}) });
    }
    // A progress notification: every event up to its revision has been delivered.
    if (events.length === 0 && !r.created && headerRevision > 0 && this.nextRevision > 0) {
      this.nextRevision = Math.max(this.nextRevision, headerRevision + 1);
    }
  }
}
