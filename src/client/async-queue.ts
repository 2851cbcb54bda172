/**
 * A bounded hand-off from a push source (a gRPC stream) to an async iterator: items queue
 * until the consumer takes them; past the high-water mark the source is told to pause, and
 * below the low-water mark to resume, so a slow consumer applies back-pressure instead of
 * growing memory.
 */

/** Tells the source to stop or start delivering. */
export interface FlowControl {
  /** Stop delivering: the consumer is behind. */
  pause(): void;
  /** Deliver again: the consumer caught up. */
  resume(): void;
}

/** A bounded queue read as an async iterator; ends with done, or with an error. */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private failure: unknown;
  private finished = false;
  private paused = false;

  constructor(
    private readonly flow: FlowControl,
    /** Pause the source when this many items wait. */
    private readonly highWaterMark = 4096,
    /** Resume it when no more than this many wait. */
    private readonly lowWaterMark = 512,
    /** Called when the consumer stops early (break, return()). */
    private readonly onReturn: () => void = () => undefined,
  ) {}

  /** Items waiting. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Delivers an item to the consumer (or queues it). */
  push(item: T): void {
    if (this.finished) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.paused && this.size >= this.highWaterMark) {
      this.paused = true;
      this.flow.pause();
    }
  }

  /** Ends the iteration after the queued items. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.waiter && this.size === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  }

  /** Ends the iteration with an error after the queued items. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.failure = error;
    this.finished = true;
    if (this.waiter && this.size === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(error);
    }
  }

  /** The next item, waiting for one when none is queued; done once ended and drained. */
  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      if (this.paused && this.size <= this.lowWaterMark) {
        this.paused = false;
        this.flow.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.finished) {
      return this.failure !== undefined
        ? Promise.reject(this.failure)
        : Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter) return Promise.reject(new Error('AsyncQueue: next() called while another next() waits'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Stops the iteration (break): the source is told it is done. */
  return(): Promise<IteratorResult<T>> {
    this.finished = true;
    this.items.length = 0;
    this.head = 0;
    this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The queue is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }
}
