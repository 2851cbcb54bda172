/**
 * Cairn's LockService recipe: etcd's Mutex (lock.ts, same keys `<name>/<lease hex>`, same
 * line ordered by create revision, so `etcdctl lock` and Cairn exclude each other) plus what
 * payment services need around it: the owner description as the key's value, a wait timeout,
 * a no-wait TryAcquire that writes nothing when refused, a session lease granted on the
 * caller's behalf, and the fencing token (the key's create revision) in every answer.
 *
 * A waiter whose turn comes stamps its key (a put of the same value, guarded by its create
 * revision), unless the holder's Release already did so in the Txn that deleted its own key
 * (the usual hand-over: one write instead of two): the key's mod revision is then the
 * revision at which the holder was confirmed,
 * which Describe reports as acquired-at; the stamp is also the re-check that the key (and so
 * the lease) still exists after the wait, which etcd 3.4's recipe lacked. etcd's waiters only
 * watch for deletes, so the extra put changes nothing for them.
 *
 * Sessions: the caller owns the lease and keeps it alive (as Chubby and Consul sessions).
 * A lease granted here for a TTL is kept alive only while the Acquire call waits, and
 * revoked if the call fails, so a caller that never got an answer leaves nothing behind.
 */
import { CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import { CompareResult, CompareTarget, type KeyValue, type ResponseHeader } from '../mvcc/index.js';
import { createRevisionIs, firstCreated, participantKey, participantPrefix, prefixRangeEnd } from './keys.js';
import { acquireLock, type HeldLock, handOverTo, nextInLine, stampedByReleaser } from './lock.js';
import { type LockParticipant, participantOf } from './lock-queries.js';
import type { CoordinationKv, CoordinationLeases } from './ports.js';
import { leaveLine } from './queue.js';
import { acquireRwLock, acquireSemaphore, checkSemaphoreLimit, type RwMode } from './shared-locks.js';
import { childAbort } from './wait.js';

/** Largest owner description, in bytes (it is stored as the lock key's value). */
export const OWNER_BYTES_MAX = 4096;

/** What a caller asks for. */
export interface LockRequest {
  readonly name: Uint8Array;
  /** An existing lease; 0 to have one granted for ttlSeconds. */
  readonly leaseId: number;
  /** The TTL of a lease to grant when leaseId is 0. */
  readonly ttlSeconds: number;
  /** How long to wait in line; 0: no limit. */
  readonly waitTimeoutMs: number;
  /** The owner description, stored as the key's value. */
  readonly owner: Uint8Array;
}

/** Which lock: the exclusive Mutex, one side of a read-write lock, or a semaphore place (shared-locks.ts). */
export type LockKind =
  | { readonly kind: 'mutex' }
  | { readonly kind: 'rw'; readonly mode: RwMode }
  | { readonly kind: 'semaphore'; readonly limit: number };

/** The exclusive lock (etcd's Mutex layout). */
export const MUTEX: LockKind = { kind: 'mutex' };

function take(
  kv: CoordinationKv,
  kind: LockKind,
  req: LockRequest,
  leaseId: number,
  signal: AbortSignal,
): Promise<HeldLock> {
  switch (kind.kind) {
    case 'mutex':
      // The stamp below confirms the key after a wait, so the recipe skips its own read.
      return acquireLock(kv, req.name, leaseId, signal, req.owner, true);
    case 'rw':
      return acquireRwLock(kv, req.name, kind.mode, leaseId, signal, req.owner);
    case 'semaphore':
      return acquireSemaphore(kv, req.name, kind.limit, leaseId, signal, req.owner);
  }
}

/** A lock the caller now holds. */
export interface AcquiredLock {
  readonly key: Uint8Array;
  readonly leaseId: number;
  /** The TTL of a lease granted for this call; 0 when the caller gave its own. */
  readonly grantedTtlSeconds: number;
  /** The key's create revision: larger for every later holder. */
  readonly fencingToken: number;
  readonly header: ResponseHeader;
}

/** TryAcquire's answer: the lock, or who holds it. */
export type TryOutcome =
  | { readonly acquired: true; readonly lock: AcquiredLock }
  | {
      readonly acquired: false;
      readonly holder: LockParticipant | undefined;
      readonly header: ResponseHeader;
    };

function invalid(message: string): CairnError {
  return new CairnError(ErrorCode.INVALID_ARGUMENT, message);
}

function timedOut(): CairnError {
  return new CairnError(ErrorCode.LOCK_WAIT_TIMEOUT, 'cairn: lock wait timed out');
}

function validate(req: LockRequest): void {
  if (req.name.byteLength === 0) throw invalid('cairn: lock name is empty');
  if (req.owner.byteLength > OWNER_BYTES_MAX)
    throw invalid(`cairn: owner is longer than ${OWNER_BYTES_MAX} bytes`);
  if (req.leaseId < 0 || req.ttlSeconds < 0 || req.waitTimeoutMs < 0)
    throw invalid('cairn: lease, ttl_seconds and wait_timeout_ms must not be negative');
  if (req.leaseId !== 0 && req.ttlSeconds !== 0)
    throw invalid('cairn: give either lease or ttl_seconds, not both');
  if (req.leaseId === 0 && req.ttlSeconds === 0) throw invalid('cairn: a lock needs a lease or ttl_seconds');
}

/** The session for one call: the caller's lease, or one granted now (revoked by `fail`). */
async function openSession(
  leases: CoordinationLeases,
  req: LockRequest,
): Promise<{ leaseId: number; grantedTtlSeconds: number; fail: () => Promise<void> }> {
  if (req.leaseId !== 0) return { leaseId: req.leaseId, grantedTtlSeconds: 0, fail: async () => {} };
  const granted = await leases.grant(req.ttlSeconds);
  return {
    leaseId: granted.id,
    grantedTtlSeconds: granted.ttlSeconds,
    fail: () => leases.revoke(granted.id).catch(() => {}),
  };
}

/** Renews a granted lease every third of its TTL until stopped (while its Acquire call waits). */
function keepAliveWhileWaiting(leases: CoordinationLeases, leaseId: number, ttlSeconds: number): () => void {
  const timer = setInterval(
    () => {
      leases.renew(leaseId).catch(() => {});
    },
    Math.max(200, Math.floor((ttlSeconds * 1000) / 3)),
  );
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Marks the holder's key with the revision its turn came at (a put of the owner under a
 * create-revision guard); fails with etcd's session-expired error if the key is gone.
 */
async function stamp(
  kv: CoordinationKv,
  key: Uint8Array,
  fencingToken: number,
  owner: Uint8Array,
): Promise<ResponseHeader> {
  const r = await kv.txn({
    compare: [createRevisionIs(key, fencingToken)],
    success: [{ requestPut: { key, value: owner, ignoreLease: true } }],
  });
  if (!r.succeeded) throw new CairnError(ErrorCode.LOCK_SESSION_EXPIRED, 'mutex: session is expired');
  return r.header;
}

/**
 * Takes the lock (by default the exclusive one), waiting in line (first come, first served)
 * until its turn, the wait timeout, or `signal` (the caller cancelled); a waiter that gives
 * up leaves the line.
 */
export async function acquireFencedLock(
  kv: CoordinationKv,
  leases: CoordinationLeases,
  req: LockRequest,
  signal: AbortSignal,
  kind: LockKind = MUTEX,
): Promise<AcquiredLock> {
  validate(req);
  if (kind.kind === 'semaphore') checkSemaphoreLimit(kind.limit);
  const session = await openSession(leases, req);
  const stopKeepAlive =
    session.grantedTtlSeconds > 0
      ? keepAliveWhileWaiting(leases, session.leaseId, session.grantedTtlSeconds)
      : () => {};
  const wait = childAbort(signal);
  let expired = false;
  const timer =
    req.waitTimeoutMs > 0
      ? setTimeout(() => {
          expired = true;
          wait.controller.abort();
        }, req.waitTimeoutMs)
      : undefined;
  try {
    const held = await take(kv, kind, req, session.leaseId, wait.controller.signal);
    let header = held.header;
    const handedOver = held.confirmed ? undefined : await stampedByReleaser(kv, held);
    if (handedOver !== undefined) header = handedOver;
    else if (!held.confirmed || held.header.revision !== held.createRevision) {
      try {
        header = await stamp(kv, held.key, held.createRevision, req.owner);
      } catch (err) {
        await leaveLine(kv, held.key, held.createRevision).catch(() => {});
        throw err;
      }
    }
    return {
      key: held.key,
      leaseId: session.leaseId,
      grantedTtlSeconds: session.grantedTtlSeconds,
      fencingToken: held.createRevision,
      header,
    };
  } catch (err) {
    await session.fail();
    if (expired && !signal.aborted && isCairnError(err, ErrorCode.CANCELLED)) throw timedOut();
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
    wait.dispose();
    stopKeepAlive();
  }
}

/**
 * Takes the lock only if no participant is in line (or the caller's own key is already
 * first), in one Txn; refused, it writes nothing and answers the participant first in line.
 */
export async function tryAcquireFencedLock(
  kv: CoordinationKv,
  leases: CoordinationLeases,
  req: LockRequest,
): Promise<TryOutcome> {
  validate({ ...req, waitTimeoutMs: 0 });
  const session = await openSession(leases, req);
  try {
    const prefix = participantPrefix(req.name);
    const key = participantKey(req.name, session.leaseId);
    const r = await kv.txn({
      // No key under <name>/ at all: a range compare over no key holds against a zero KeyValue.
      compare: [
        {
          key: prefix,
          rangeEnd: prefixRangeEnd(prefix),
          target: CompareTarget.Create,
          result: CompareResult.Equal,
          createRevision: 0,
        },
      ],
      success: [{ requestPut: { key, value: req.owner, lease: session.leaseId } }],
      failure: [{ requestRange: firstCreated(prefix) }],
    });
    const lock = (fencingToken: number): AcquiredLock => ({
      key,
      leaseId: session.leaseId,
      grantedTtlSeconds: session.grantedTtlSeconds,
      fencingToken,
      header: r.header,
    });
    if (r.succeeded) return { acquired: true, lock: lock(r.header.revision) };
    const first = (r.responses[0] as { responseRange: { kvs: readonly KeyValue[] } }).responseRange.kvs[0];
    // The caller's own key already leads (a retried TryAcquire with the same lease).
    if (first && Buffer.compare(first.key, key) === 0)
      return { acquired: true, lock: lock(first.createRevision) };
    await session.fail();
    return { acquired: false, holder: first ? participantOf(first) : undefined, header: r.header };
  } catch (err) {
    await session.fail();
    throw err;
  }
}

/** What Release deletes: a lock key, optionally only the generation created at fencingToken. */
export interface ReleaseRequest {
  readonly key: Uint8Array;
  /** 0: whatever generation exists. */
  readonly fencingToken: number;
  /** A lease to revoke as well (0: none); a lease already gone is not an error. */
  readonly revokeLeaseId: number;
}

/**
 * Deletes a lock key (and revokes its lease if asked); says whether a key was deleted. A
 * holder's release of a Mutex also hands the lock over: the same Txn stamps the next waiter's
 * key (guarded by its create revision) as that waiter's own stamp would, so the waiter, woken
 * by the deletion, finds itself confirmed and answers without a write of its own.
 */
export async function releaseFencedLock(
  kv: CoordinationKv,
  leases: CoordinationLeases,
  req: ReleaseRequest,
): Promise<{ released: boolean; header: ResponseHeader }> {
  const line = req.fencingToken === 0 ? undefined : await nextInLine(kv, req.key);
  const next = line?.holderCreateRevision === req.fencingToken ? line.next : undefined;
  const r = await kv.txn({
    compare: req.fencingToken !== 0 ? [createRevisionIs(req.key, req.fencingToken)] : [],
    success: [{ requestDeleteRange: { key: req.key } }, ...handOverTo(next)],
  });
  const deleted =
    r.succeeded &&
    ((r.responses[0] as { responseDeleteRange?: { deleted: number } }).responseDeleteRange?.deleted ?? 0) > 0;
  if (req.revokeLeaseId !== 0) {
    try {
      await leases.revoke(req.revokeLeaseId);
    } catch (err) {
      if (!isCairnError(err, ErrorCode.LEASE_NOT_FOUND)) throw err;
    }
  }
  return { released: deleted, header: r.header };
}
