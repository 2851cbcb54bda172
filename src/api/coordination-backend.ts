/**
 * The coordination recipes' CoordinationKv over this member: linearizable ranges after a
 * ReadIndex barrier (serializable ones from this member's applied state, when asked), Txns
 * proposed through raft, and watches from the member's watch hub.
 */
import type { CoordinationKv, WatchBatch, WatchRange } from '../coordination/ports.js';
import { waitDeleteByWatch } from '../coordination/wait.js';
import type { MvccStore, TxnRequest, TxnResponse } from '../mvcc/index.js';
import type { EntryKind } from '../node/envelope.js';
import type { KvResult } from '../node/kv-state-machine.js';
import { commandEntry } from './auth-gate.js';

/** What the backend needs from the member: the live store, the read barrier and proposals. */
export interface CoordinationMember {
  store(): MvccStore;
  linearizableBarrier(): Promise<void>;
  propose(kind: EntryKind, payload: Uint8Array): Promise<KvResult>;
}

/** Where the recipes' watches come from (the member's watch hub, through HubWatches). */
export interface CoordinationWatchSource {
  watch(range: WatchRange, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchBatch>;
}

/** CoordinationKv over a running member and its watches. */
export function coordinationBackend(
  member: CoordinationMember,
  feed: CoordinationWatchSource,
): CoordinationKv {
  const watch = (range: WatchRange, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchBatch> =>
    feed.watch(range, fromRevision, signal);
  return {
    range: async (req) => {
      if (req.serializable !== true) await member.linearizableBarrier();
      return member.store().range(req);
    },
    txn: async (req: TxnRequest): Promise<TxnResponse> => {
      const entry = commandEntry({ type: 'txn', request: req });
      const r = await member.propose(entry.kind, entry.payload);
      if (!r.ok) throw r.error;
      return r.response as TxnResponse;
    },
    waitDelete: (key, fromRevision, signal) => waitDeleteByWatch(watch, key, fromRevision, signal),
    watch,
  };
}
