/**
 * An in-process CoordinationKv for the recipe tests: a real MvccStore to which commands are
 * applied directly, and a watch hub notified after each apply, as the state machine's apply
 * listener does, served to the recipes through the server's HubWatches. It records which keys are waited on, so tests can check
 * who watches whom.
 */
import { HubWatches } from '../../src/api/hub-watches.js';
import type { CoordinationKv, WatchBatch, WatchRange } from '../../src/coordination/ports.js';
import { waitDeleteByWatch } from '../../src/coordination/wait.js';
import {
  type Command,
  MvccStore,
  type MvccStoreOptions,
  type RangeRequest,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
  WatchHub,
} from '../../src/mvcc/index.js';

import { str } from '../mvcc/support.js';

export { b, str } from '../mvcc/support.js';

/** Lets every pending promise callback and timer-free continuation run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Tracks whether a promise has settled, without awaiting it. */
export function track<T>(p: Promise<T>): { readonly done: boolean; readonly promise: Promise<T> } {
  const state = { done: false, promise: p };
  p.then(
    () => {
      state.done = true;
    },
    () => {
      state.done = true;
    },
  );
  return state;
}

/** CoordinationKv over an MvccStore in this process. */
export class InProcessKv implements CoordinationKv {
  readonly store: MvccStore;
  readonly hub: WatchHub;
  readonly feed: HubWatches;
  /** Every key waitDelete was called for, in call order, as text. */
  readonly waitedOn: string[] = [];

  constructor(options: MvccStoreOptions = {}) {
    // The recipes take lease ids as given; these tests model a lease ending by deleting its keys.
    this.store = new MvccStore({ leaseExists: () => true, ...options });
    this.hub = new WatchHub(this.store);
    this.feed = new HubWatches(this.hub);
  }

  /** Applies a command as the state machine would, and tells the feed. */
  apply(command: Command): void {
    const r = this.store.apply(command);
    if (!r.ok) throw r.error;
    if (r.events.length > 0) this.hub.notify(this.store.currentRevision, r.events);
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    await Promise.resolve();
    return this.store.range(req);
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    await Promise.resolve();
    const r = this.store.apply({ type: 'txn', request: req });
    if (!r.ok) throw r.error;
    if (r.events.length > 0) this.hub.notify(this.store.currentRevision, r.events);
    return r.response;
  }

  waitDelete(key: Uint8Array, fromRevision: number, signal: AbortSignal): Promise<number> {
    this.waitedOn.push(str(key));
    return waitDeleteByWatch((r, f, s) => this.watch(r, f, s), key, fromRevision, signal);
  }

  watch(range: WatchRange, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchBatch> {
    return this.feed.watch(range, fromRevision, signal);
  }
}
