/**
 * What the LockService tells about locks (holder, waiters, summaries), as the SDK hands it
 * out: camelCase fields, names and keys as Buffers, owners as text.
 */
import type { Wire } from './connection.js';

/** The participant first in line: the one holding the lock. */
export interface LockHolder {
  /** The holder's key in the line. */
  key: Buffer;
  /** The owner description the holder gave. */
  owner: string;
  /** Its fencing token (its key's create revision). */
  fencingToken: number;
  /** The lease its key is bound to. */
  lease: number;
  /** The revision at which the holder was confirmed first in line. */
  acquiredAtRevision: number;
  /** The holder's lease TTL left; -1 when unknown (no lease, lease gone, or not asked). */
  remainingTtlSeconds: number;
}

/** A participant waiting in line. */
export interface LockWaiter {
  /** The waiter's key in the line. */
  key: Buffer;
  /** The owner description the waiter gave. */
  owner: string;
  /** The lease its key is bound to. */
  lease: number;
  /** Its fencing token once its turn comes. */
  createRevision: number;
}

/** One lock: holder (absent when free) and waiters in the order they will hold it. */
export interface LockDescription {
  /** Whether someone holds the lock. */
  held: boolean;
  /** The holder, when held. */
  holder?: LockHolder;
  /** The waiters, in the order they will hold it. */
  waiters: LockWaiter[];
  /** Whether more waiters were left out. */
  moreWaiters: boolean;
  /** The store revision the answer reflects. */
  revision: number;
}

/** One lock of a List answer. */
export interface LockSummary {
  /** The lock's name. */
  name: Buffer;
  /** Who holds it. */
  holder: LockHolder;
  /** How many participants wait behind the holder. */
  waiters: number;
}

/** Every lock under a prefix. */
export interface LockList {
  /** The locks, by name. */
  locks: LockSummary[];
  /** Whether more locks were left out. */
  more: boolean;
  /** The store revision the answer reflects. */
  revision: number;
}

/** A wire LockHolder as the SDK's. */
export function holderOf(w: Wire): LockHolder {
  return {
    key: w.key as Buffer,
    owner: String(w.owner ?? ''),
    fencingToken: Number(w.fencing_token),
    lease: Number(w.lease),
    acquiredAtRevision: Number(w.acquired_at_revision),
    remainingTtlSeconds: Number(w.remaining_ttl_seconds),
  };
}

/** A wire DescribeResponse as the SDK's. */
export function descriptionOf(r: Wire): LockDescription {
  return {
    held: Boolean(r.held),
    ...(r.holder ? { holder: holderOf(r.holder) } : {}),
    waiters: ((r.waiters ?? []) as Wire[]).map((w) => ({
      key: w.key as Buffer,
      owner: String(w.owner ?? ''),
      lease: Number(w.lease),
      createRevision: Number(w.create_revision),
    })),
    moreWaiters: Boolean(r.more_waiters),
    revision: Number(r.header?.revision ?? 0),
  };
}

/** A wire ListResponse as the SDK's. */
export function listOf(r: Wire): LockList {
  return {
    locks: ((r.locks ?? []) as Wire[]).map((l) => ({
      name: l.name as Buffer,
      holder: holderOf(l.holder),
      waiters: Number(l.waiters),
    })),
    more: Boolean(r.more),
    revision: Number(r.header?.revision ?? 0),
  };
}
