/**
 * Reconnect delays for peer streams: exponential, bounded, with jitter so that the members
 * of a cluster that lost a peer together do not all knock on its door at the same instant.
 */

/** First reconnect delay after a stream fails, by default. */
export const RECONNECT_BACKOFF_INITIAL_MS = 100;
/** Longest reconnect delay, by default. */
export const RECONNECT_BACKOFF_MAX_MS = 2000;

/** How a Backoff grows; random is injectable so tests can pin the jitter. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A number in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

/** Exponential backoff with jitter: each delay is drawn from [d/2, d], and d doubles up to maxMs. */
export class Backoff {
  /** Invariant: initialMs <= ceilingMs <= maxMs. */
  private ceilingMs: number;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.ceilingMs = opts.initialMs;
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt; later calls return longer delays, up to maxMs. */
  nextDelayMs(): number {
    const delayMs = Math.round(this.ceilingMs * (0.5 + this.random() * 0.5));
    this.ceilingMs = Math.min(this.ceilingMs * 2, this.opts.maxMs);
    return delayMs;
  }

  /** Starts over from initialMs (after a connection succeeded). */
  reset(): void {
    this.ceilingMs = this.opts.initialMs;
  }
}
