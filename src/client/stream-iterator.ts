/**
 * The shape the SDK's resumable event streams share (watches, coordinator decision watches):
 * a ResumingStream feeding a bounded AsyncQueue that the caller iterates, a ready() promise
 * settled by the server's confirmation, and close() / onClosed(). A subclass says how to open
 * the stream from its resume point and what to do with each message.
 */
import type { ErrorCode } from '../common/errors.js';
import { AsyncQueue } from './async-queue.js';
import type { Wire } from './connection.js';
import type { ClientError } from './errors.js';
import { type ResumableCall, ResumingStream, type StreamEndpoints } from './resuming-stream.js';

/** A resumable stream read as an async iterator of T. */
export abstract class StreamIterator<T> implements AsyncIterable<T> {
  /** What the caller reads; a full queue pauses the stream. */
  protected readonly queue: AsyncQueue<T>;
  /** The reconnect loop. */
  protected readonly stream: ResumingStream;
  private closed = false;
  private readonly created: Promise<void>;
  private resolveCreated: () => void = () => undefined;
  private readonly closeListeners: (() => void)[] = [];

  constructor(endpoints: StreamEndpoints, fatal: ReadonlySet<ErrorCode>, bufferedMax: number) {
    this.queue = new AsyncQueue<T>(
      { pause: () => this.stream.pause(), resume: () => this.stream.resume() },
      bufferedMax,
      Math.floor(bufferedMax / 8),
      () => this.close(),
    );
    this.created = new Promise((resolve) => {
      this.resolveCreated = resolve;
    });
    this.stream = new ResumingStream(endpoints, {
      fatal,
      open: (address) => this.open(address),
      onMessage: (m, address) => this.handle(m, address),
      onFailed: (err) => this.finish(err),
    });
  }

  /** Opens the stream on `address` from the current resume point. */
  protected abstract open(address: string): ResumableCall;

  /** Handles one message of the current stream. */
  protected abstract handle(message: Wire, address: string): void;

  /** The server confirmed the stream: the backoff starts over and ready() resolves. */
  protected confirmed(): void {
    this.stream.healthy();
    this.resolveCreated();
  }

  /** Resolves once a member has confirmed the stream (what comes after is delivered). */
  ready(): Promise<void> {
    return this.created;
  }

  /** Runs `listener` once when the stream ends (closed, or failed for good). */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  private end(): boolean {
    if (this.closed) return false;
    this.closed = true;
    for (const l of this.closeListeners.splice(0)) l();
    this.resolveCreated();
    return true;
  }

  private finish(err: ClientError): void {
    if (this.end()) this.queue.fail(err);
  }

  /** Stops the stream; the iterator ends after what was already delivered. */
  close(): void {
    if (!this.end()) return;
    this.stream.close();
    this.queue.end();
  }

  /** Iterates over the stream's items. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.queue;
  }
}
