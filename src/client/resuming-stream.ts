/**
 * The reconnect loop every long-lived stream of the SDK shares (watches, decision watches,
 * election observers, registry subscriptions): open the stream on the preferred endpoint;
 * when it breaks, move to the next endpoint and open it again after a jittered backoff, from
 * wherever the owner's resume point now stands; stop for good on an error the owner calls
 * fatal or when the client closes. The owner keeps the resume point and reads the messages.
 */
import type * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { ErrorCode } from '../common/errors.js';
import type { Wire } from './connection.js';
import { ClientError, toClientError } from './errors.js';

/** What a ResumingStream needs of the client's connection (a Connection has it all). */
export interface StreamEndpoints {
  /** The endpoint streams go to now. */
  readonly currentAddress: string;
  /** Whether the client was closed. */
  readonly isClosed: boolean;
  /** Moves off an endpoint that failed. */
  failover(address: string): void;
  /** The wait before reconnect number `attempt`, with jitter. */
  backoffMs(attempt: number): number;
}

/** A server or bidirectional stream (both can be cancelled, paused and resumed). */
export type ResumableCall = grpc.ClientReadableStream<Wire> | grpc.ClientDuplexStream<Wire, Wire>;

/** What the owner of a ResumingStream provides. */
export interface ResumingStreamOwner {
  /** Opens the stream on `address` from the current resume point (and sends what a bidi stream needs first). */
  open(address: string): ResumableCall;
  /** A message from the current stream. */
  onMessage(message: Wire, address: string): void;
  /** The stream ended for good: a fatal error, or the client closed. Called once. */
  onFailed(error: ClientError): void;
  /** Errors after which the stream cannot resume. */
  readonly fatal: ReadonlySet<ErrorCode>;
  /** Whether to move to the next endpoint before reconnecting after `error` (default: yes). */
  failoverOn?(error: ClientError | undefined): boolean;
}

function clientClosed(): ClientError {
  return new ClientError(ErrorCode.CANCELLED, 'cairn client: closed', Status.CANCELLED, true);
}

/** One long-lived stream that reconnects and resumes until it is closed or fails for good. */
export class ResumingStream {
  private call: ResumableCall | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** How many times the stream was opened again after a break. */
  reconnects = 0;

  constructor(
    private readonly connection: StreamEndpoints,
    private readonly owner: ResumingStreamOwner,
  ) {}

  /** Opens the first stream. */
  start(): void {
    this.open();
  }

  /** Whether close() was called or the stream failed for good. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Marks the stream healthy (a confirmation arrived): the next break starts the backoff over. */
  healthy(): void {
    this.attempt = 0;
  }

  /** Stops reading (back-pressure from a full consumer queue). */
  pause(): void {
    this.call?.pause();
  }

  /** Reads again. */
  resume(): void {
    this.call?.resume();
  }

  /** Breaks the current stream on purpose (a message the owner cannot use) and reconnects. */
  restart(error: ClientError): void {
    const call = this.call;
    if (call) this.broken(call, error, this.connection.currentAddress);
  }

  private open(): void {
    if (this.stopped) return;
    if (this.connection.isClosed) {
      this.fail(clientClosed());
      return;
    }
    const address = this.connection.currentAddress;
    let call: ResumableCall;
    try {
      call = this.owner.open(address);
    } catch (err) {
      this.fail(toClientError(err, address));
      return;
    }
    this.call = call;
    call.on('data', (m: Wire) => {
      if (call === this.call) this.owner.onMessage(m, address);
    });
    call.on('error', (err) => this.broken(call, toClientError(err, address), address));
    call.on('end', () => this.broken(call, undefined, address));
  }

  private broken(call: ResumableCall, error: ClientError | undefined, address: string): void {
    if (call !== this.call) return;
    this.call = undefined;
    call.cancel();
    if (this.stopped) return;
    if (error && this.owner.fatal.has(error.code)) {
      this.fail(error);
      return;
    }
    if (this.connection.isClosed) {
      this.fail(clientClosed());
      return;
    }
    if (this.owner.failoverOn?.(error) ?? true) this.connection.failover(address);
    this.attempt++;
    this.reconnects++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, this.connection.backoffMs(this.attempt));
    this.timer.unref();
  }

  /** Ends the stream for good with `error` (the owner's onFailed runs once). */
  fail(error: ClientError): void {
    if (this.stopped) return;
    this.close();
    this.owner.onFailed(error);
  }

  /** Stops: cancels the stream and any pending reconnect. */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const call = this.call;
    this.call = undefined;
    if (call) {
      if ('end' in call && typeof call.end === 'function') call.end();
      call.cancel();
    }
  }
}
