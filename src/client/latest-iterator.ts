/**
 * An async iterator over a value that changes (a list of instances): each next() answers the
 * newest value not yet delivered, so a slow consumer skips intermediate values instead of
 * queueing them. Holds at most one value: bounded by construction.
 */

/** The feeding side of a LatestIterator. */
export interface LatestSink<T> {
  /** Offers a new value (replaces one not yet taken). */
  offer(value: T): void;
  /** Ends the iteration (with an error, or done) once the pending value is taken. */
  end(error?: unknown): void;
}

/** Iterates the newest values offered to it. */
export class LatestIterator<T> implements AsyncIterableIterator<T>, LatestSink<T> {
  private pending: { value: T } | undefined;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended: { error: unknown } | undefined;

  constructor(
    /** Called once when the consumer stops (break, return()) or the iteration ends. */
    private readonly onDone: () => void,
  ) {}

  /** Hands a value to the consumer, replacing one it has not taken yet. */
  offer(value: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value, done: false });
    } else this.pending = { value };
  }

  /** Ends the iteration: done, or the error the consumer's next() rejects with. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = { error };
    this.onDone();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      if (error !== undefined) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  /** The newest value not yet taken, waiting for one when there is none. */
  next(): Promise<IteratorResult<T>> {
    if (this.pending) {
      const { value } = this.pending;
      this.pending = undefined;
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      return this.ended.error !== undefined
        ? Promise.reject(this.ended.error)
        : Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter)
      return Promise.reject(new Error('LatestIterator: next() called while another next() waits'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Stops the iteration (break). */
  return(): Promise<IteratorResult<T>> {
    this.pending = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The iterator is its own iterable. */
  [Symbol.asyncIterator](): this {
    return this;
  }
}
