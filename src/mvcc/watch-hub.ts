/**
 * The watch hub: every watcher of one member over its MvccStore, as etcd's watchable store.
 *
 * A watcher is either synced (it has seen everything up to the store's revision and takes
 * each write as notify() reports it) or unsynced (it replays history from store.records()
 * in bounded batches, then joins the synced set). Everything runs synchronously on one
 * thread, so between two notify() calls the store does not move: a replay that reaches the
 * current revision joins the synced set before the next write, with no gap and no
 * duplicate at the junction. `nextRevision` (below) makes a duplicate impossible anyway.
 *
 * A watcher whose sink pauses it queues the batches of later writes, up to a bound in
 * events and bytes; past it the watcher is ended as too slow. A start revision below the
 * compaction point ends the watcher with the compaction revision, as etcd does.
 * Pure: no clock, no timers; the consumer drives resumption.
 */
import { assert } from '../common/assert.js';
import { bytesEqual, compareKeys, type KeyRange, keyRangeOf } from './key-range.js';
import { kvOf } from './slab-record.js';
import type { MvccStore } from './store.js';
import { EventType, type MvccEvent, type RevisionRecord } from './types.js';
import {
  DEFAULT_WATCH_HUB_LIMITS,
  eventSizeBytes,
  type WatchBatch,
  type WatchEnd,
  type WatchHandle,
  type WatchHubLimits,
  type WatchOptions,
  type WatchSink,
} from './watch-types.js';

class Watcher implements WatchHandle {
  readonly range: KeyRange;
  /**
   * Invariant: every matching event of a revision below nextRevision has been delivered or
   * sits in `queue`; no event below it is ever delivered again.
   */
  nextRevision: number;
  /** Invariant: synced iff the watcher is in the hub's synced index. */
  isSynced = false;
  /** Whether the sink asked to pause (deliver returned false) and has not resumed yet. */
  paused = false;
  /** Whether pump() is running for this watcher (guards re-entrant resume calls). */
  pumping = false;
  isEnded = false;
  /** Invariant: batches in revision order, all below nextRevision; counts match its content. */
  readonly queue: WatchBatch[] = [];
  queuedEvents = 0;
  queuedBytes = 0;

  constructor(
    private readonly hub: WatchHub,
    readonly options: WatchOptions,
    readonly sink: WatchSink,
    startRevision: number,
  ) {
    this.range = keyRangeOf(options.key, options.rangeEnd);
    this.nextRevision = startRevision;
  }

  get synced(): boolean {
    return this.isSynced;
  }

  get idle(): boolean {
    return this.isSynced && !this.isEnded && this.queue.length === 0;
  }

  get ended(): boolean {
    return this.isEnded;
  }

  resume(): void {
    if (this.isEnded) return;
    this.paused = false;
    this.hub.pump(this);
  }

  cancel(): void {
    this.hub.remove(this);
  }

  /** Whether the watcher wants this event: its key is in range and no filter drops it. */
  wants(ev: MvccEvent): boolean {
    if (ev.type === EventType.Put && this.options.noPut === true) return false;
    if (ev.type === EventType.Delete && this.options.noDelete === true) return false;
    return inRange(this.range, ev.kv.key);
  }
}

function inRange(range: KeyRange, key: Uint8Array): boolean {
  switch (range.kind) {
    case 'single':
      return bytesEqual(range.key, key);
    case 'from':
      return compareKeys(key, range.key) >= 0;
    case 'interval':
      return compareKeys(key, range.key) >= 0 && compareKeys(key, range.end) < 0;
  }
}

/** A Map key for exact-key watchers: one char per byte. */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The watchers of one member's store; notify() after every apply that produced events. */
export class WatchHub {
  private readonly limits: WatchHubLimits;
  /** Invariant: every watcher not ended. */
  private readonly watchers = new Set<Watcher>();
  /** Invariant: synced single-key watchers, by key; no empty set is kept. */
  private readonly syncedByKey = new Map<string, Set<Watcher>>();
  /** Invariant: synced watchers of a range (interval or from-key). */
  private readonly syncedRanges = new Set<Watcher>();
  /** Invariant: the revision of the last notify(), never above the store's revision. */
  private lastNotified: number;

  constructor(
    private store: MvccStore,
    limits: Partial<WatchHubLimits> = {},
  ) {
    this.limits = { ...DEFAULT_WATCH_HUB_LIMITS, ...limits };
    this.lastNotified = store.currentRevision;
  }

  /** How many watchers are live (for bounds and leak checks). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** The revision of the store the hub watches. */
  get currentRevision(): number {
    return this.store.currentRevision;
  }

  /** The store's compaction revision. */
  get compactedRevision(): number {
    return this.store.compactedRevision;
  }

  /**
   * Adds a watcher. Replay of older revisions (and a compacted end) may reach the sink
   * before this returns: the caller must be ready (e.g. have sent "created") first.
   */
  watch(options: WatchOptions, sink: WatchSink): WatchHandle {
    assert(options.startRevision >= 0, 'a watch start revision is never negative');
    const current = this.store.currentRevision;
    const start = options.startRevision > 0 ? options.startRevision : current + 1;
    const w = new Watcher(this, options, sink, start);
    this.watchers.add(w);
    this.pump(w);
    return w;
  }

  /** Reports the events of the revision just applied (call only when there are some). */
  notify(revision: number, events: readonly MvccEvent[]): void {
    assert(
      revision === this.store.currentRevision && revision > this.lastNotified,
      () => `notify(${revision}) with the store at ${this.store.currentRevision}, last ${this.lastNotified}`,
    );
    this.lastNotified = revision;
    // No synced watcher: nothing to match, and the events' KeyValues need not be made.
    if (this.syncedByKey.size === 0 && this.syncedRanges.size === 0) return;
    const matched = new Map<Watcher, MvccEvent[]>();
    const add = (w: Watcher, ev: MvccEvent): void => {
      if (revision < w.nextRevision || !w.wants(ev)) return;
      const list = matched.get(w);
      if (list === undefined) matched.set(w, [ev]);
      else list.push(ev);
    };
    for (const ev of events) {
      const exact = this.syncedByKey.get(keyString(ev.kv.key));
      if (exact !== undefined) for (const w of exact) add(w, ev);
      for (const w of this.syncedRanges) add(w, ev);
    }
    for (const [w, evs] of matched) {
      if (w.isEnded) continue; // a sink ended it while an earlier watcher was served
      w.nextRevision = revision + 1;
      this.offer(w, { events: evs, revision });
    }
  }

  /**
   * The store was replaced (a raft snapshot was installed): every watcher replays from the
   * new store, from its next revision, or ends as compacted if the new store has dropped it.
   */
  restored(store: MvccStore): void {
    const reached = this.lastNotified;
    this.store = store;
    this.lastNotified = store.currentRevision;
    for (const w of this.watchers) {
      if (w.isSynced) {
        this.leaveSynced(w);
        w.nextRevision = Math.max(w.nextRevision, reached + 1);
      }
    }
    for (const w of [...this.watchers]) this.pump(w);
  }

  /** Removes a watcher without telling its sink (the consumer cancelled it). */
  remove(w: Watcher): void {
    if (w.isEnded) return;
    w.isEnded = true;
    if (w.isSynced) this.leaveSynced(w);
    this.watchers.delete(w);
    w.queue.length = 0;
    w.queuedEvents = 0;
    w.queuedBytes = 0;
  }

  /**
   * Moves a watcher forward as far as its sink lets it: delivers its queue, then replays
   * history until it is synced, paused, or has used this call's budget.
   */
  pump(w: Watcher): void {
    if (w.pumping || w.isEnded) return;
    w.pumping = true;
    try {
      let budget = this.limits.replayRecordsPerCallMax;
      while (!w.isEnded && !w.paused) {
        const batch = w.queue.shift();
        if (batch !== undefined) {
          w.queuedEvents -= batch.events.length;
          w.queuedBytes -= batchBytes(batch);
          w.paused = !w.sink.deliver(batch);
          continue;
        }
        if (w.isSynced) return;
        if (this.store.compactedRevision > 0 && w.nextRevision < this.store.compactedRevision) {
          this.end(w, { kind: 'compacted', compactRevision: this.store.compactedRevision });
          return;
        }
        if (w.nextRevision > this.store.currentRevision) {
          this.joinSynced(w);
          return;
        }
        if (budget <= 0) {
          w.sink.behind();
          return;
        }
        const step = this.replayStep(w, budget);
        assert(step.through >= w.nextRevision, 'a replay step always moves forward');
        budget -= step.scanned;
        w.nextRevision = step.through + 1;
        if (step.events.length > 0)
          w.paused = !w.sink.deliver({ events: step.events, revision: step.through });
      }
    } finally {
      w.pumping = false;
    }
  }

  /**
   * Reads one batch of history from the watcher's next revision: whole revisions, until
   * the batch is full, the budget is spent, or the store's revision is reached.
   */
  private replayStep(w: Watcher, budget: number): { events: MvccEvent[]; through: number; scanned: number } {
    const current = this.store.currentRevision;
    const events: MvccEvent[] = [];
    let bytes = 0;
    let scanned = 0;
    let revision = w.nextRevision - 1;
    for (const record of this.store.records(w.nextRevision, current)) {
      if (record.main !== revision) {
        const full =
          events.length >= this.limits.replayBatchEventsMax ||
          bytes >= this.limits.replayBatchBytesMax ||
          scanned >= budget;
        if (full) return { events, through: record.main - 1, scanned };
        revision = record.main;
      }
      scanned++;
      const ev = this.eventOf(record, w.options.prevKv === true);
      if (!w.wants(ev)) continue;
      events.push(ev);
      bytes += eventSizeBytes(ev);
    }
    return { events, through: current, scanned };
  }

  /** The event a stored record stands for; prevKv is the key's version just before (as etcd). */
  private eventOf(record: RevisionRecord, withPrevKv: boolean): MvccEvent {
    const kv = kvOf(record);
    if (!withPrevKv) return { type: record.type, kv };
    const prevKv = this.store.versionAt(record.key, record.main - 1);
    return prevKv === undefined ? { type: record.type, kv } : { type: record.type, kv, prevKv };
  }

  /** Delivers a live batch now, or queues it behind earlier ones (bounded). */
  private offer(w: Watcher, batch: WatchBatch): void {
    if (!w.paused && !w.pumping && w.queue.length === 0) {
      w.paused = !w.sink.deliver(batch);
      return;
    }
    w.queue.push(batch);
    w.queuedEvents += batch.events.length;
    w.queuedBytes += batchBytes(batch);
    const over = w.queuedEvents > this.limits.queuedEventsMax || w.queuedBytes > this.limits.queuedBytesMax;
    if (over && w.queue.length > 1) {
      this.end(w, {
        kind: 'slow',
        reason: `etcdserver: watcher is too slow: more than ${this.limits.queuedEventsMax} events or ${this.limits.queuedBytesMax} bytes queued`,
      });
    }
  }

  private end(w: Watcher, why: WatchEnd): void {
    this.remove(w);
    w.sink.ended(why);
  }

  private joinSynced(w: Watcher): void {
    assert(!w.isSynced, 'joining the synced set twice');
    w.isSynced = true;
    if (w.range.kind === 'single') {
      const k = keyString(w.range.key);
      let set = this.syncedByKey.get(k);
      if (set === undefined) {
        set = new Set();
        this.syncedByKey.set(k, set);
      }
      set.add(w);
    } else {
      this.syncedRanges.add(w);
    }
  }

  private leaveSynced(w: Watcher): void {
    w.isSynced = false;
    if (w.range.kind === 'single') {
      const k = keyString(w.range.key);
      const set = this.syncedByKey.get(k);
      set?.delete(w);
      if (set?.size === 0) this.syncedByKey.delete(k);
    } else {
      this.syncedRanges.delete(w);
    }
  }
}

function batchBytes(batch: WatchBatch): number {
  let n = 0;
  for (const ev of batch.events) n += eventSizeBytes(ev);
  return n;
}
