/**
 * Lock queries over the Mutex key layout (`<name>/<lease hex>`, value the owner, ordered by
 * create revision): Describe reads one lock's line (holder first, then the waiters in the
 * order they will hold it) and List reads every lock under a prefix, grouping keys by name.
 * Only keys whose last segment is a lease id in lowercase hex count as participants, so a
 * lock named `a/b` is not mistaken for a waiter of lock `a`. Both are plain linearizable
 * reads: they see locks taken by etcdctl and etcd's Lock service as well.
 */
import { compareKeys, type KeyValue, type ResponseHeader, SortOrder, SortTarget } from '../mvcc/index.js';
import { participantPrefix, prefixRangeEnd } from './keys.js';
import type { CoordinationKv, CoordinationLeases } from './ports.js';

/** Most waiters Describe returns (more are flagged). */
export const DESCRIBE_WAITERS_MAX = 10_000;
/** Most keys List scans under its prefix (more are flagged). */
export const LIST_KEYS_SCANNED_MAX = 100_000;
/** Most locks one List returns. */
export const LIST_LOCKS_MAX = 10_000;

const SLASH = 0x2f;

/** One participant in a lock's line. */
export interface LockParticipant {
  readonly key: Uint8Array;
  /** The key's value: the owner description. */
  readonly owner: Uint8Array;
  readonly leaseId: number;
  /** The fencing token it holds, or will hold when its turn comes. */
  readonly createRevision: number;
  /** For the holder: the revision it was confirmed at (see fenced-lock.ts). */
  readonly modRevision: number;
}

/** The holder, with its lease's remaining TTL (-1: no lease, or the lease is gone). */
export interface LockHolderInfo extends LockParticipant {
  readonly remainingTtlSeconds: number;
}

/** A participant from its key-value. */
export function participantOf(kv: KeyValue): LockParticipant {
  return {
    key: kv.key,
    owner: kv.value,
    leaseId: kv.lease,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
  };
}

/** Whether the bytes are a lease id as the layout writes it: lowercase hex, no leading zero. */
function isLeaseHex(b: Uint8Array): boolean {
  if (b.byteLength === 0 || b.byteLength > 16 || (b[0] === 0x30 && b.byteLength > 1)) return false;
  return b.every((c) => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66));
}

/** The lock name of a participant key (`<name>/<lease hex>`), or undefined if it is not one. */
export function lockNameOf(key: Uint8Array): Uint8Array | undefined {
  const slash = key.lastIndexOf(SLASH);
  if (slash <= 0 || !isLeaseHex(key.subarray(slash + 1))) return undefined;
  return key.subarray(0, slash);
}

async function withTtl(leases: CoordinationLeases, p: LockParticipant): Promise<LockHolderInfo> {
  const remainingTtlSeconds = p.leaseId === 0 ? -1 : (await leases.timeToLive(p.leaseId)).ttlSeconds;
  return { ...p, remainingTtlSeconds };
}

/** One lock: its holder (absent when free) and waiters in line order. */
export interface LockDescription {
  readonly header: ResponseHeader;
  readonly holder: LockHolderInfo | undefined;
  readonly waiters: readonly LockParticipant[];
  /** Whether more than DESCRIBE_WAITERS_MAX waiters were left out. */
  readonly moreWaiters: boolean;
}

/** Reads one lock's line. */
export async function describeLock(
  kv: CoordinationKv,
  leases: CoordinationLeases,
  name: Uint8Array,
): Promise<LockDescription> {
  const prefix = participantPrefix(name);
  const r = await kv.range({
    key: prefix,
    rangeEnd: prefixRangeEnd(prefix),
    sortTarget: SortTarget.Create,
    sortOrder: SortOrder.Ascend,
    limit: DESCRIBE_WAITERS_MAX + 1,
  });
  const line = r.kvs.filter((kv) => isLeaseHex(kv.key.subarray(prefix.byteLength))).map(participantOf);
  const first = line[0];
  return {
    header: r.header,
    holder: first ? await withTtl(leases, first) : undefined,
    waiters: line.slice(1, DESCRIBE_WAITERS_MAX + 1),
    moreWaiters: r.more || line.length > DESCRIBE_WAITERS_MAX + 1,
  };
}

/** One lock as List reports it. */
export interface LockSummary {
  readonly name: Uint8Array;
  readonly holder: LockHolderInfo;
  readonly waiters: number;
}

/** Reads every lock whose name starts with prefix (empty: every lock), by name, at most `limit`. */
export async function listLocks(
  kv: CoordinationKv,
  leases: CoordinationLeases,
  prefix: Uint8Array,
  limit: number,
): Promise<{ header: ResponseHeader; locks: readonly LockSummary[]; more: boolean }> {
  const locksMax = Math.min(limit > 0 ? limit : 1000, LIST_LOCKS_MAX);
  const r = await kv.range({
    key: prefix.byteLength > 0 ? prefix : new Uint8Array([0]),
    rangeEnd: prefixRangeEnd(prefix),
    limit: LIST_KEYS_SCANNED_MAX,
  });
  const byName = new Map<string, { name: Uint8Array; first: LockParticipant; count: number }>();
  for (const kv of r.kvs) {
    const name = lockNameOf(kv.key);
    if (!name) continue;
    const id = Buffer.from(name).toString('latin1');
    const p = participantOf(kv);
    const seen = byName.get(id);
    if (!seen) byName.set(id, { name, first: p, count: 1 });
    else {
      seen.count++;
      if (p.createRevision < seen.first.createRevision) seen.first = p;
    }
  }
  const all = [...byName.values()].sort((a, b) => compareKeys(a.name, b.name));
  const chosen = all.slice(0, locksMax);
  const locks = await Promise.all(
    chosen.map(async (l) => ({ name: l.name, holder: await withTtl(leases, l.first), waiters: l.count - 1 })),
  );
  return { header: r.header, locks, more: r.more || all.length > locksMax };
}
