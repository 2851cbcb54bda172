/**
 * Election.Observe as an async iterator that survives reconnects. The server's stream starts
 * with the current leader and then sends every change; when the stream breaks (the member
 * dies, a network blip) the observer opens a new one on the next endpoint after a backoff,
 * and skips the first answer if it is the state it delivered last (same key, same mod
 * revision). What it delivers is the leader's state: values proclaimed and replaced while
 * no stream was open are not replayed, the state after them is.
 */
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode } from '../common/errors.js';
import { AsyncQueue } from './async-queue.js';
import type { Connection, Wire } from './connection.js';
import type { ClientError } from './errors.js';
import { type KeyValue, keyValueOf } from './kv-types.js';
import { ResumingStream } from './resuming-stream.js';

/** Errors after which observing cannot go on (a member that cancels the stream as it stops is not one). */
const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([ErrorCode.INVALID_ARGUMENT, ErrorCode.EMPTY_KEY]);

/** A running Observe: iterate it for each leader state; close() it when done. */
export class ElectionObserver implements AsyncIterable<KeyValue> {
  private readonly queue: AsyncQueue<KeyValue>;
  private readonly stream: ResumingStream;
  private last: KeyValue | undefined;
  private closed = false;
  private readonly onAbort = (): void => this.close();

  constructor(
    private readonly connection: Connection,
    private readonly name: Buffer,
    private readonly options: { signal?: AbortSignal; bufferedMax?: number } = {},
  ) {
    const high = options.bufferedMax ?? 256;
    this.queue = new AsyncQueue<KeyValue>(
      { pause: () => this.stream.pause(), resume: () => this.stream.resume() },
      high,
      Math.floor(high / 8),
      () => this.close(),
    );
    this.stream = new ResumingStream(connection, {
      fatal: FATAL,
      open: (address) =>
        (
          this.connection.stub('Election', address) as unknown as {
            Observe(request: Wire): grpc.ClientReadableStream<Wire>;
          }
        ).Observe({ name: this.name }),
      onMessage: (r) => this.handle(r),
      onFailed: (err) => this.finish(err),
    });
    if (options.signal?.aborted) {
      this.close();
      return;
    }
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.stream.start();
  }

  private handle(r: Wire): void {
    if (!r.kv) return;
    this.stream.healthy();
    const kv = keyValueOf(r.kv);
    const last = this.last;
    if (last && last.modRevision === kv.modRevision && last.key.equals(kv.key)) return;
    this.last = kv;
    this.queue.push(kv);
  }

  private finish(err: ClientError): void {
    this.closed = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.queue.fail(err);
  }

  /** Stops observing; the iterator ends after the states already delivered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.stream.close();
    this.queue.end();
  }

  /** Iterates over the leaders as they change (each leader key once). */
  [Symbol.asyncIterator](): AsyncIterator<KeyValue> {
    return this.queue;
  }
}
