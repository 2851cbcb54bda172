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
  /** How long to wait in all, retries included; 0: no limit. */
  waitTimeoutMs: number;
  /** Aborts the wait (the call fails with CANCELLED). */
  signal?: AbortSignal | undefined;
  /** The error to throw when waitTimeoutMs runs out on the client's side. */
  timedOut: () => ClientError;
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
 * Sends `request(remainingWaitMs)` until it is answered; each attempt carries the wait time
 * still left, so retries never stretch the caller's wait timeout.
 */
export async function waitingCall(
  connection: Connection,
  service: ServiceName,
  method: string,
  request: (remainingWaitMs: number) => Wire,
  options: WaitingCallOptions,
): Promise<Wire> {
  const startedAtMs = Date.now();
  const { waitTimeoutMs, signal } = options;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw connection.cancelled();
    let remainingMs = 0;
    if (waitTimeoutMs > 0) {
      remainingMs = waitTimeoutMs - (Date.now() - startedAtMs);
      if (remainingMs <= 0) throw options.timedOut();
    }
    try {
      return await connection.unary(service, method, request(remainingMs), {
        idempotent: true,
        leader: true,
        // The server's own wait timeout answers first; the margin covers its writes.
        deadlineMs: waitTimeoutMs > 0 ? remainingMs + connection.deadlineMs : UNLIMITED_WAIT_ATTEMPT_MS,
        ...(signal ? { signal } : {}),
      });
    } catch (raw) {
      const err = toClientError(raw);
      if (signal?.aborted) throw connection.cancelled();
      if (err.code === ErrorCode.TIMEOUT && waitTimeoutMs > 0 && Date.now() - startedAtMs >= waitTimeoutMs) {
        throw options.timedOut();
      }
      if (!shouldRetry(err, true)) throw err;
      await sleep(connection.backoffMs(attempt), signal);
    }
  }
}
