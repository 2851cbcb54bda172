/**
 * Slows down password guessing: counts failed authentications per key (a user name, a peer
 * address) in a fixed window, and refuses further attempts for that key once the count
 * reaches the limit, until the window ends. The table is capped (least recently touched
 * keys forgotten first), so a flood of distinct names cannot grow memory without bound.
 */

/** The limiter's settings. */
export interface FailureLimiterOptions {
  /** Failures allowed per key in one window. */
  readonly failuresMax: number;
  /** The window's length, in milliseconds. */
  readonly windowMs: number;
  /** Most keys tracked at once. */
  readonly keysMax: number;
  readonly now?: () => number;
}

interface Window {
  failures: number;
  startedAtMs: number;
}

/** Failure counts per key, bounded. */
export class FailureLimiter {
  /** Invariant: insertion order is least recently touched first; size <= keysMax. */
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;

  constructor(private readonly opts: FailureLimiterOptions) {
    this.now = opts.now ?? Date.now;
  }

  private current(key: string): Window | undefined {
    const w = this.windows.get(key);
    if (w && this.now() - w.startedAtMs >= this.opts.windowMs) {
      this.windows.delete(key);
      return undefined;
    }
    return w;
  }

  /** Whether `key` has used up its failures for the current window. */
  blocked(key: string): boolean {
    return (this.current(key)?.failures ?? 0) >= this.opts.failuresMax;
  }

  /** Counts one failure for `key`. */
  fail(key: string): void {
    const w = this.current(key) ?? { failures: 0, startedAtMs: this.now() };
    w.failures++;
    this.windows.delete(key);
    this.windows.set(key, w);
    while (this.windows.size > this.opts.keysMax) {
      const oldest = this.windows.keys().next().value as string;
      this.windows.delete(oldest);
    }
  }

  /** Forgets `key`'s failures (it authenticated). */
  succeed(key: string): void {
    this.windows.delete(key);
  }

  /** How many keys are tracked. */
  get size(): number {
    return this.windows.size;
  }
}
