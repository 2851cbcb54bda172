/**
 * When to try a failed call again and how long to wait first: exponential backoff with full
 * jitter (a random wait between 0 and the capped exponential), so many clients that failed
 * together do not come back together.
 */
import { ErrorCode } from '../common/errors.js';
import type { ClientError } from './errors.js';

/** How a client retries; every field has a default. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 6). */
  attemptsMax?: number;
  /** The wait cap before the second attempt (default 50 ms); doubles each attempt. */
  backoffBaseMs?: number;
  /** The largest wait between two attempts (default 2000 ms). */
  backoffMaxMs?: number;
}

/** RetryOptions with every default applied. */
export type RetryPolicy = Required<RetryOptions>;

/** The defaults: six attempts, 50 ms doubling up to 2 s. */
export const DEFAULT_RETRY: RetryPolicy = { attemptsMax: 6, backoffBaseMs: 50, backoffMaxMs: 2000 };

/** Merges options over the defaults and checks them. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const p = { ...DEFAULT_RETRY, ...options };
  if (!Number.isInteger(p.attemptsMax) || p.attemptsMax < 1)
    throw new RangeError('attemptsMax must be an integer >= 1');
  if (!(p.backoffBaseMs >= 0 && p.backoffMaxMs >= p.backoffBaseMs)) {
    throw new RangeError('need 0 <= backoffBaseMs <= backoffMaxMs');
  }
  return p;
}

/** The wait before attempt number `attempt` (1 = the first retry): full jitter over the capped exponential. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/** Codes that mean "this endpoint cannot serve now": the next attempt should go elsewhere. */
const SWITCH_ENDPOINT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.CONNECTION_FAILED,
  ErrorCode.CONNECTION_LOST,
  ErrorCode.STOPPED,
  ErrorCode.MEMBER_REMOVED,
  ErrorCode.NO_LEADER,
  ErrorCode.NOT_LEADER,
]);

/**
 * Whether a failed call may be sent again: always when it certainly did not happen
 * (err.retriable), and when its outcome is unknown only if the caller said it is idempotent.
 * A cancelled call is never retried.
 */
export function shouldRetry(err: ClientError, idempotent: boolean): boolean {
  if (err.code === ErrorCode.CANCELLED) return false;
  if (err.retriable) return true;
  return idempotent && err.outcomeUnknown && err.code !== ErrorCode.INTERNAL;
}

/** Whether the next attempt should go to another endpoint. */
export function shouldSwitchEndpoint(err: ClientError): boolean {
  return SWITCH_ENDPOINT.has(err.code);
}
