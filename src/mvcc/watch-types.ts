/**
 * The watch hub's contract with its consumers (the Watch service): what a watch asks for,
 * what it receives, how it pushes back and how it ends. Kept apart from the hub so the
 * consumer side reads without the hub's internals.
 */
import type { MvccEvent } from './types.js';

/** What one watcher follows (etcd's WatchCreateRequest, minus the wire-only fields). */
export interface WatchOptions {
  readonly key: Uint8Array;
  /** etcd's range convention: empty = the single key, "\0" = every key from key on, else [key, rangeEnd). */
  readonly rangeEnd?: Uint8Array;
  /** The first revision wanted; 0 means the next revision. */
  readonly startRevision: number;
  /** Whether replayed events carry the key's previous version (events of live writes always do). */
  readonly prevKv?: boolean;
  /** Leave out PUT events (etcd's NOPUT filter). */
  readonly noPut?: boolean;
  /** Leave out DELETE events (etcd's NODELETE filter). */
  readonly noDelete?: boolean;
}

/** Events of whole revisions for one watcher, in revision order. */
export interface WatchBatch {
  readonly events: readonly MvccEvent[];
  /** Every matching event up to this revision has now been handed over (resume from revision + 1). */
  readonly revision: number;
}

/** Why the hub ended a watcher on its own. */
export type WatchEnd =
  | {
      readonly kind: 'compacted';
      /** The store's compaction revision: the watcher's start revision was below it. */
      readonly compactRevision: number;
    }
  | {
      readonly kind: 'slow';
      /** A human-readable cause, sent to the client as cancel_reason. */
      readonly reason: string;
    };

/** Where a watcher's output goes. The hub calls it synchronously. */
export interface WatchSink {
  /** Takes one batch; returns false to pause this watcher until handle.resume() (backpressure). */
  deliver(batch: WatchBatch): boolean;
  /** The hub ended the watcher (compacted start, or too slow); nothing follows. */
  ended(end: WatchEnd): void;
  /** Catching up stopped after its per-call budget; call handle.resume() soon (next turn of the event loop). */
  behind(): void;
}

/** A live watcher, as its creator holds it. */
export interface WatchHandle {
  /** Whether the watcher has caught up with the store and receives writes as they are applied. */
  readonly synced: boolean;
  /** Synced with nothing queued: everything up to the store's revision has been delivered. */
  readonly idle: boolean;
  /** Whether the watcher was cancelled or ended by the hub. */
  readonly ended: boolean;
  /** Lifts a pause (the sink can take more): delivers what is queued, then catches up. */
  resume(): void;
  /** Removes the watcher; nothing more is delivered. Idempotent. */
  cancel(): void;
}

/** The hub's bounds; the defaults suit a server. */
export interface WatchHubLimits {
  /** Events queued for one paused watcher before it is cancelled as too slow. */
  readonly queuedEventsMax: number;
  /** Approximate bytes (keys and values) queued for one paused watcher before it is cancelled. */
  readonly queuedBytesMax: number;
  /** A replayed batch closes after the revision at which it holds this many events... */
  readonly replayBatchEventsMax: number;
  /** ...or this many approximate bytes. */
  readonly replayBatchBytesMax: number;
  /** History records one resume() may scan before yielding (sink.behind()). */
  readonly replayRecordsPerCallMax: number;
}

/** Defaults of WatchHubLimits. */
export const DEFAULT_WATCH_HUB_LIMITS: WatchHubLimits = {
  queuedEventsMax: 10_000,
  queuedBytesMax: 16 * 1024 * 1024,
  replayBatchEventsMax: 1_000,
  replayBatchBytesMax: 1024 * 1024,
  replayRecordsPerCallMax: 20_000,
};

/** Approximate memory of an event, for the byte bounds (keys and values dominate). */
export function eventSizeBytes(ev: MvccEvent): number {
  const kv = ev.kv.key.byteLength + ev.kv.value.byteLength;
  const prev = ev.prevKv ? ev.prevKv.key.byteLength + ev.prevKv.value.byteLength : 0;
  return kv + prev + 64;
}
