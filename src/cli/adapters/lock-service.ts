/**
 * TEMPORARY ADAPTER — replace with the SDK's src/client/locks.ts once it is on main.
 * Calls Cairn's LockService (proto/cairn/v1/lock.proto) through client.connection.unary, for
 * `cairnctl lock`; the rest of the CLI must not import it.
 */
import type { Client } from '../../client/client.js';
import type { Wire } from '../../client/connection.js';

/** A lock held by this process. */
export interface HeldLock {
  key: Buffer;
  lease: number;
  fencingToken: number;
}

/** The holder of a lock as Describe/List report it. */
export interface LockHolderView {
  key: string;
  owner: string;
  fencingToken: number;
  lease: number;
  acquiredAtRevision: number;
  remainingTtlSeconds: number;
}

/** A lock's holder and its line. */
export interface LockDescription {
  held: boolean;
  holder?: LockHolderView;
  waiters: { key: string; owner: string; lease: number; createRevision: number }[];
  moreWaiters: boolean;
}

function holderOf(h: Wire): LockHolderView {
  return {
    key: Buffer.from(h.key ?? []).toString('utf8'),
    owner: String(h.owner ?? ''),
    fencingToken: Number(h.fencing_token ?? 0),
    lease: Number(h.lease ?? 0),
    acquiredAtRevision: Number(h.acquired_at_revision ?? 0),
    remainingTtlSeconds: Number(h.remaining_ttl_seconds ?? -1),
  };
}

/** Waits in line for `name` with the session lease; resolves once held. */
export async function acquireLock(
  client: Client,
  name: string,
  lease: number,
  options: { owner: string; waitTimeoutMs: number; deadlineMs: number; signal: AbortSignal },
): Promise<HeldLock> {
  const r = await client.connection.unary(
    'LockService',
    'Acquire',
    { name: Buffer.from(name), lease, owner: options.owner, wait_timeout_ms: options.waitTimeoutMs },
    { deadlineMs: options.deadlineMs, idempotent: true, signal: options.signal },
  );
  return { key: r.key as Buffer, lease: Number(r.lease), fencingToken: Number(r.fencing_token) };
}

/** Deletes the lock key if it is still the one created at the fencing token. */
export async function releaseLock(client: Client, held: HeldLock): Promise<boolean> {
  const r = await client.connection.unary(
    'LockService',
    'Release',
    { key: held.key, fencing_token: held.fencingToken },
    { idempotent: true, leader: true },
  );
  return Boolean(r.released);
}

/** The holder and waiters of one lock. */
export async function describeLock(client: Client, name: string): Promise<LockDescription> {
  const r = await client.connection.unary(
    'LockService',
    'Describe',
    { name: Buffer.from(name) },
    { idempotent: true },
  );
  return {
    held: Boolean(r.held),
    ...(r.holder ? { holder: holderOf(r.holder) } : {}),
    waiters: ((r.waiters ?? []) as Wire[]).map((w) => ({
      key: Buffer.from(w.key ?? []).toString('utf8'),
      owner: String(w.owner ?? ''),
      lease: Number(w.lease ?? 0),
      createRevision: Number(w.create_revision ?? 0),
    })),
    moreWaiters: Boolean(r.more_waiters),
  };
}

/** Every lock under a prefix with its holder and the length of its line. */
export async function listLocks(
  client: Client,
  prefix: string,
  limit: number,
): Promise<{ locks: { name: string; holder?: LockHolderView; waiters: number }[]; more: boolean }> {
  const r = await client.connection.unary(
    'LockService',
    'List',
    { prefix: Buffer.from(prefix), limit },
    { idempotent: true },
  );
  return {
    locks: ((r.locks ?? []) as Wire[]).map((l) => ({
      name: Buffer.from(l.name ?? []).toString('utf8'),
      ...(l.holder ? { holder: holderOf(l.holder) } : {}),
      waiters: Number(l.waiters ?? 0),
    })),
    more: Boolean(r.more),
  };
}
