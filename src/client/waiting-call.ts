/**
 * Calls that wait on the server for as long as it takes (LockService Acquire, Election
 * Campaign) and are safe to send again because the server finds the caller's existing key
 * by its lease. A member dying under the wait breaks the call; the call is sent again to the
 * next endpoint with the same lease and lands at the same place in line. Retries continue
 * (with backoff) until an answer, an error that is final, the wait timeout, or the signal.
 */
import { ErrorCode } from '../common/errors.js';
import type { Connection, ServiceName, Wire } from './connection.js';
import { type ClientError, toClientError } from './errors.js';
import { shouldRetry } from './retry.js';

/**
 * The gRPC deadline of one attempt of a wait without a limit (24 h, well below what Node's
 * timers hold); an attempt that reaches it is simply sent again.
 */
export const UNLIMITED_WAIT_ATTEMPT_MS = 24 * 60 * 60 * 1000;

/** How a waiting call is made. */
export interface WaitingCallOptions {
  /** How long to wait in all, retries included, counted from startedAtMs; 0: no limit. */
  waitTimeoutMs: number;
  /** When the caller's wait began (performance.now(); default: now), e.g. before it granted a lease. */
  startedAtMs?: number;
  /** Aborts the wait (the call fails with CANCELLED). */
  signal?: AbortSignal | undefined;
  /** The error to throw when waitTimeoutMs runs out on the client's side. */
  timedOut: () => ClientError;
  /** Errors that are final in general but worth another attempt for this caller (checked after the general rules). */
  retryAlso?: (err: ClientError) => boolean;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
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

/**
 * The wait time the server is given out of `remainingMs`: a little less, so that its own
 * timeout answers (after it has left the line) before the client's deadline cuts the call.
 */
export function serverWaitMs(remainingMs: number): number {
  return remainingMs - Math.min(SERVER_MARGIN_MS_MAX, Math.floor(remainingMs / 4));
}

/** The most of the remaining wait kept back for the server to answer its own timeout. */
const SERVER_MARGIN_MS_MAX = 1000;

/**
 * Sends `request(serverWaitMs)` until it is answered. With a wait timeout, every attempt's
 * deadline is the time still left of it (so neither retries nor a member that stops
 * answering stretch the caller's wait) and the server is asked to wait a little less.
 */
export async function waitingCall(
  connection: Connection,
  service: ServiceName,
  method: string,
  request: (waitMs: number) => Wire,
  options: WaitingCallOptions,
): Promise<Wire> {
  const startedAtMs = options.startedAtMs ?? performance.now();
  const { waitTimeoutMs, signal } = options;
  const spent = (): boolean => waitTimeoutMs > 0 && performance.now() - startedAtMs >= waitTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw connection.cancelled();
    let remainingMs = 0;
    if (waitTimeoutMs > 0) {
      remainingMs = Math.ceil(waitTimeoutMs - (performance.now() - startedAtMs));
      if (remainingMs <= 0) throw options.timedOut();
    }
    try {
      return await connection.unary(
        service,
        method,
        request(waitTimeoutMs > 0 ? serverWaitMs(remainingMs) : 0),
        {
          idempotent: true,
          leader: true,
          deadlineMs: waitTimeoutMs > 0 ? remainingMs : UNLIMITED_WAIT_ATTEMPT_MS,
          ...(signal ? { signal } : {}),
        },
      );
    } catch (raw) {
      const err = toClientError(raw);
      if (signal?.aborted) throw connection.cancelled();
      if (err.code === ErrorCode.TIMEOUT && spent()) throw options.timedOut();
      if (!shouldRetry(err, true) && !options.retryAlso?.(err)) throw err;
      let backoffMs = connection.backoffMs(attempt);
      if (waitTimeoutMs > 0)
        backoffMs = Math.min(backoffMs, Math.max(0, waitTimeoutMs - (performance.now() - startedAtMs)));
      await sleep(backoffMs, signal);
    }
  }
}
