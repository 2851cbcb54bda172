/**
 * What the lock and election recipes need from the store, and nothing more: a linearizable
 * range, a Txn through consensus, and watches that start at a revision. Requests and
 * responses are the mvcc store's own types; failures are CairnErrors with stable codes.
 * api/ implements this over the node (and, later, the watch hub); tests implement it over
 * an MvccStore in process. Responses carry only the store revision: api/ adds cluster id,
 * member id and raft term when it answers a client.
 */
import type { MvccEvent, RangeRequest, RangeResponse, TxnRequest, TxnResponse } from '../mvcc/index.js';

/** The events of one revision that fall in a watched range, in sub-revision order. */
export interface WatchBatch {
  /** The store revision that produced these events. */
  readonly revision: number;
  readonly events: readonly MvccEvent[];
}

/** A key range as etcd gives one: rangeEnd empty for the single key, "\0" for every key from key on. */
export interface WatchRange {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
}

/** The key-value operations the coordination recipes are built on. */
export interface CoordinationKv {
  /**
   * A linearizable range: it reflects every write acknowledged before the call. With
   * `serializable` set, a committed state that may be older (this member's applied state,
   * without a round to the leader): for questions whose answer cannot be undone by later
   * writes, or is confirmed by a guarded write afterwards.
   */
  range(req: RangeRequest): Promise<RangeResponse>;

  /** A Txn through consensus; resolves once applied, rejects with the CairnError the store answered. */
  txn(req: TxnRequest): Promise<TxnResponse>;

  /**
   * Resolves with the revision of the first DELETE of `key` at a revision >= fromRevision
   * (replaying history when that revision is already past). Rejects with CANCELLED when
   * `signal` aborts, COMPACTED when fromRevision is compacted away, or any other CairnError
   * that ends the watch. Leaves nothing registered once settled.
   */
  waitDelete(key: Uint8Array, fromRevision: number, signal: AbortSignal): Promise<number>;

  /**
   * Every change in `range` at revisions >= fromRevision (0: from the next revision), one
   * batch per revision, in revision order, with neither gaps nor duplicates. The iteration
   * ends quietly when `signal` aborts (or the consumer stops iterating) and throws a
   * CairnError if the watch breaks (COMPACTED, OVERLOADED for a consumer too slow, STOPPED).
   */
  watch(range: WatchRange, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchBatch>;
}

/** Lease operations for recipes that create their own sessions (Cairn's LockService, MembershipService). */
export interface CoordinationLeases {
  /** Grants a lease (TTL raised to the server's minimum); resolves with its id and TTL. */
  grant(ttlSeconds: number): Promise<{ id: number; ttlSeconds: number }>;
  /** Revokes a lease and deletes its keys; rejects with LEASE_NOT_FOUND if there is none. */
  revoke(id: number): Promise<void>;
  /** A keep-alive: the TTL after renewal, 0 when the lease does not exist. */
  renew(id: number): Promise<number>;
  /** Remaining and granted TTL in seconds; ttlSeconds -1 when the lease does not exist. */
  timeToLive(id: number): Promise<{ ttlSeconds: number; grantedTtlSeconds: number }>;
}

/** Whether this member leads, for recipes whose timers only the leader may act on (transaction deadlines). */
export interface CoordinationLeadership {
  isLeader(): boolean;
  /** Called with true when this member becomes leader and false when it stops; returns an unsubscribe. */
  onChange(listener: (leading: boolean) => void): () => void;
}
