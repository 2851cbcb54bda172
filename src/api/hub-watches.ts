/**
 * The coordination recipes' watches (CoordinationKv.watch) over the member's watch hub: each
 * is a hub watcher behind an async iterator with a bounded queue. When the queue is full the
 * watcher is paused (the hub holds, and bounds, what follows) until the consumer pulls again;
 * a start below the compaction point fails with COMPACTED, a watcher the hub ends as too slow
 * with OVERLOADED, an aborted signal ends the iteration quietly, and stop() fails every
 * watch with STOPPED so that blocked Lock and Campaign calls end before a graceful shutdown.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { WatchBatch, WatchRange } from '../coordination/ports.js';
import { mvccError, type WatchHandle, type WatchHub } from '../mvcc/index.js';

/** Limits of the coordination watches. */
export interface HubWatchesOptions {
  /** Most watches open at once; one more is refused with OVERLOADED. */
  readonly watchersMax: number;
  /** Batches one watch queues before its hub watcher is paused. */
  readonly queuedBatchesMax: number;
}

const DEFAULTS: HubWatchesOptions = { watchersMax: 10_000, queuedBatchesMax: 64 };

/** One watch: the hub watcher's batches, pulled by the recipe. */
class HubWatch implements AsyncIterator<WatchBatch> {
  handle: WatchHandle | undefined;
  private readonly queue: WatchBatch[] = [];
  private failure: Error | undefined;
  private closed = false;
  private paused = false;
  private waiting:
    | { resolve: (r: IteratorResult<WatchBatch>) => void; reject: (e: Error) => void }
    | undefined;

  constructor(
    private readonly queuedBatchesMax: number,
    private readonly onClose: (w: HubWatch) => void,
  ) {}

  /** The hub's sink side: takes a batch (maybe of several revisions), pausing the hub watcher when the queue is full. */
  deliver(batch: WatchBatch): boolean {
    if (this.closed || this.failure) return true;
    // The recipes expect one batch per revision: split the hub's by each event's revision.
    let start = 0;
    for (let i = 1; i <= batch.events.length; i++) {
      const rev = batch.events[start]!.kv.modRevision;
      if (i === batch.events.length || batch.events[i]!.kv.modRevision !== rev) {
        this.offer({ revision: rev, events: batch.events.slice(start, i) });
        start = i;
      }
    }
    return !this.paused;
  }

  private offer(batch: WatchBatch): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: batch, done: false });
      return;
    }
    this.queue.push(batch);
    this.paused = this.queue.length >= this.queuedBatchesMax;
  }

  /** Ends the watch with an error (after what is already queued). */
  fail(err: Error): void {
    if (this.closed || this.failure) return;
    this.failure = err;
    this.release();
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.reject(err);
    }
  }

  /** Ends the watch quietly. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.release();
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<WatchBatch>> {
    const batch = this.queue.shift();
    if (batch) {
      if (this.paused && this.queue.length < this.queuedBatchesMax / 2) {
        this.paused = false;
        this.handle?.resume();
      }
      return Promise.resolve({ value: batch, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<WatchBatch>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  private release(): void {
    this.handle?.cancel();
    this.onClose(this);
  }
}

/** Watches for the coordination recipes, served by the member's watch hub. */
export class HubWatches {
  private readonly watchers = new Set<HubWatch>();
  private readonly opts: HubWatchesOptions;
  private stopped = false;

  constructor(
    private readonly hub: WatchHub,
    opts: Partial<HubWatchesOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** How many watches are open (tests check that cancelled calls leave none behind). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Every change in range from fromRevision on (0: from the next revision); see CoordinationKv.watch. */
  watch(range: WatchRange, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchBatch> {
    return { [Symbol.asyncIterator]: () => this.open(range, fromRevision, signal) };
  }

  /** Fails every watch, and every later one, with STOPPED (the member is shutting down). */
  stop(): void {
    this.stopped = true;
    for (const w of [...this.watchers]) w.fail(new CairnError(ErrorCode.STOPPED, 'server stopped'));
  }

  private open(range: WatchRange, fromRevision: number, signal: AbortSignal): AsyncIterator<WatchBatch> {
    const onAbort = (): void => w.close();
    const w = new HubWatch(this.opts.queuedBatchesMax, (closed) => {
      this.watchers.delete(closed);
      signal.removeEventListener('abort', onAbort);
    });
    if (signal.aborted) {
      w.close();
      return w;
    }
    if (this.stopped) {
      w.fail(new CairnError(ErrorCode.STOPPED, 'server stopped'));
      return w;
    }
    if (this.watchers.size >= this.opts.watchersMax) {
      w.fail(new CairnError(ErrorCode.OVERLOADED, 'too many watches'));
      return w;
    }
    this.watchers.add(w);
    signal.addEventListener('abort', onAbort, { once: true });
    let handle: WatchHandle | undefined;
    handle = this.hub.watch(
      {
        key: range.key,
        ...(range.rangeEnd !== undefined ? { rangeEnd: range.rangeEnd } : {}),
        startRevision: fromRevision,
        prevKv: true,
      },
      {
        deliver: (batch) => w.deliver(batch),
        ended: (end) =>
          w.fail(
            end.kind === 'compacted'
              ? mvccError(ErrorCode.COMPACTED)
              : new CairnError(ErrorCode.OVERLOADED, `watch consumer too slow: ${end.reason}`),
          ),
        behind: () => setImmediate(() => handle?.resume()),
      },
    );
    w.handle = handle;
    if (handle.ended) w.fail(new CairnError(ErrorCode.OVERLOADED, 'watch ended at creation'));
    return w;
  }
}
