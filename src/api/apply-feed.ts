/**
 * Watches from a revision, fed by the state machine's apply listener: the stand-in the Lock
 * and Election services use until the watch hub replaces it. A watch registers first, then
 * replays the store's history from its start revision up to the current one, and from then
 * on takes only revisions above the last it delivered, so nothing between the read and the
 * subscription is lost or repeated. A revision that arrives out of sequence (a snapshot was
 * installed) is filled in from the store's history. Watchers and their queues are bounded.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { WatchBatch, WatchRange } from '../coordination/ports.js';
import { compareKeys, type MvccEvent, type MvccStore, mvccError } from '../mvcc/index.js';

/** Limits of the feed. */
export interface ApplyFeedOptions {
  /** Most watches open at once; one more is refused with OVERLOADED. */
  readonly watchersMax: number;
  /** Most undelivered revisions one watch may queue; beyond it the watch fails with OVERLOADED. */
  readonly queuedBatchesMax: number;
}

const DEFAULTS: ApplyFeedOptions = { watchersMax: 10_000, queuedBatchesMax: 1_024 };

function inRange(range: WatchRange, key: Uint8Array): boolean {
  const end = range.rangeEnd;
  if (end === undefined || end.byteLength === 0) return compareKeys(key, range.key) === 0;
  if (compareKeys(key, range.key) < 0) return false;
  if (end.byteLength === 1 && end[0] === 0) return true;
  return compareKeys(key, end) < 0;
}

/** One open watch: a bounded queue of batches and at most one consumer waiting on it. */
class FeedWatcher implements AsyncIterator<WatchBatch> {
  /** Invariant: every revision <= delivered has been queued (if it matched) or skipped. */
  delivered = 0;
  private readonly queue: WatchBatch[] = [];
  private failure: Error | undefined;
  private closed = false;
  private waiting:
    | { resolve: (r: IteratorResult<WatchBatch>) => void; reject: (e: Error) => void }
    | undefined;

  constructor(
    readonly range: WatchRange,
    private readonly queuedBatchesMax: number,
    private readonly onClose: (w: FeedWatcher) => void,
  ) {}

  /** Queues the matching events of one revision. */
  offer(revision: number, events: readonly MvccEvent[]): void {
    if (this.closed || this.failure) return;
    this.delivered = revision;
    const matching = events.filter((e) => inRange(this.range, e.kv.key));
    if (matching.length === 0) return;
    const batch: WatchBatch = { revision, events: matching };
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: batch, done: false });
      return;
    }
    if (this.queue.length >= this.queuedBatchesMax) {
      this.fail(new CairnError(ErrorCode.OVERLOADED, 'watch consumer too slow: queue full'));
      return;
    }
    this.queue.push(batch);
  }

  /** Ends the watch with an error (after what is already queued). */
  fail(err: Error): void {
    if (this.closed || this.failure) return;
    this.failure = err;
    this.onClose(this);
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
    this.onClose(this);
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<WatchBatch>> {
    const batch = this.queue.shift();
    if (batch) return Promise.resolve({ value: batch, done: false });
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
}

/** Groups stored records into one batch of events per revision (history replay). */
function* historyBatches(store: MvccStore, from: number, to: number): Generator<WatchBatch> {
  let revision = 0;
  let events: MvccEvent[] = [];
  for (const r of store.records(from, to)) {
    if (r.main !== revision && events.length > 0) {
      yield { revision, events };
      events = [];
    }
    revision = r.main;
    events.push({ type: r.type, kv: r.kv });
  }
  if (events.length > 0) yield { revision, events };
}

/** Watches over the applied history of one member's store. */
export class ApplyFeed {
  private readonly watchers = new Set<FeedWatcher>();
  private readonly opts: ApplyFeedOptions;
  private stopped = false;

  /** store() returns the live store (it is replaced when a snapshot is installed). */
  constructor(
    private readonly store: () => MvccStore,
    opts: Partial<ApplyFeedOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** How many watches are open (tests check that cancelled calls leave none behind). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /**
   * The apply listener: the store has just applied `revision`, which produced `events`
   * (empty after a snapshot was installed: the watchers catch up from history).
   */
  notify(revision: number, events: readonly MvccEvent[]): void {
    for (const w of [...this.watchers]) {
      if (revision <= w.delivered) continue;
      if (revision === w.delivered + 1 && events.length > 0) w.offer(revision, events);
      else this.catchUp(w, revision);
    }
  }

  /** Every change in range from fromRevision on (0: from the next revision); see CoordinationKv.watch. */
  watch(range: WatchRange, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchBatch> {
    return {
      [Symbol.asyncIterator]: () => this.open(range, fromRevision, signal),
    };
  }

  /** Fails every watch, and every later one, with STOPPED (the member is shutting down). */
  stop(): void {
    this.stopped = true;
    for (const w of [...this.watchers]) w.fail(new CairnError(ErrorCode.STOPPED, 'server stopped'));
  }

  private open(range: WatchRange, fromRevision: number, signal: AbortSignal): AsyncIterator<WatchBatch> {
    const onAbort = (): void => w.close();
    const w = new FeedWatcher(range, this.opts.queuedBatchesMax, (closed) => {
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
    // Subscribe first, then read history up to the current revision: a revision applied
    // after this point arrives through notify() and is above `delivered`.
    this.watchers.add(w);
    signal.addEventListener('abort', onAbort, { once: true });
    const store = this.store();
    const start = fromRevision > 0 ? fromRevision : store.currentRevision + 1;
    w.delivered = start - 1;
    this.catchUp(w, store.currentRevision);
    return w;
  }

  /** Replays history (delivered, upTo] into w, or fails it if part of that is compacted away. */
  private catchUp(w: FeedWatcher, upTo: number): void {
    const store = this.store();
    const from = w.delivered + 1;
    if (from > upTo) return;
    if (from < store.compactedRevision) {
      w.fail(mvccError(ErrorCode.COMPACTED));
      return;
    }
    for (const batch of historyBatches(store, from, upTo)) w.offer(batch.revision, batch.events);
    if (w.delivered < upTo) w.delivered = upTo;
  }
}
