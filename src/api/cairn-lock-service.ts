/**
 * Cairn's own cairn.v1.LockService (proto/cairn/v1/lock.proto) over the fenced-lock recipe
 * and the lock queries: Acquire waits in line with a timeout and answers the fencing token,
 * TryAcquire never waits, Release deletes a key, KeepAlive renews a session lease, Describe
 * and List read who holds and who waits. A client that cancels Acquire leaves the line.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  type AcquiredLock,
  acquireFencedLock,
  type LockRequest,
  releaseFencedLock,
  tryAcquireFencedLock,
} from '../coordination/fenced-lock.js';
import { participantKey } from '../coordination/keys.js';
import {
  describeLock,
  type LockHolderInfo,
  type LockParticipant,
  listLocks,
} from '../coordination/lock-queries.js';
import type { CoordinationKv, CoordinationLeases } from '../coordination/ports.js';
import {
  cancellableUnary,
  type HeaderAt,
  requiredName,
  type UnaryHandler,
  wireBytes,
  wireInt,
} from './coordination-wire.js';
import type { WireHeader } from './header.js';

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
type Wire = any;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function lockRequest(w: Wire): LockRequest {
  return {
    name: requiredName(w.name),
    leaseId: wireInt(w.lease, 'lease'),
    ttlSeconds: wireInt(w.ttl_seconds, 'ttl_seconds'),
    waitTimeoutMs: wireInt(w.wait_timeout_ms, 'wait_timeout_ms'),
    owner: encoder.encode(typeof w.owner === 'string' ? w.owner : ''),
  };
}

function heldToWire(l: AcquiredLock): Wire {
  return {
    key: l.key,
    lease: l.leaseId,
    ttl_seconds: l.grantedTtlSeconds,
    fencing_token: l.fencingToken,
  };
}

function holderToWire(p: LockParticipant, remainingTtlSeconds: number): Wire {
  return {
    key: p.key,
    owner: decoder.decode(p.owner),
    fencing_token: p.createRevision,
    lease: p.leaseId,
    acquired_at_revision: p.modRevision,
    remaining_ttl_seconds: remainingTtlSeconds,
  };
}

function holderInfoToWire(h: LockHolderInfo): Wire {
  return holderToWire(h, h.remainingTtlSeconds);
}

function waiterToWire(p: LockParticipant): Wire {
  return { key: p.key, owner: decoder.decode(p.owner), lease: p.leaseId, create_revision: p.createRevision };
}

/** The handlers of cairn.v1.LockService. */
export function cairnLockHandlers(
  kv: CoordinationKv,
  leases: CoordinationLeases,
  header: () => WireHeader,
): Record<string, UnaryHandler> {
  const headerAt: HeaderAt = (revision) => ({ ...header(), revision });
  return {
    Acquire: cancellableUnary(async (w: Wire, signal) => {
      const held = await acquireFencedLock(kv, leases, lockRequest(w), signal);
      return { header: headerAt(held.header.revision), ...heldToWire(held) };
    }),
    AcquireRead: cancellableUnary(async (w: Wire, signal) => {
      const held = await acquireFencedLock(kv, leases, lockRequest(w), signal, { kind: 'rw', mode: 'read' });
      return { header: headerAt(held.header.revision), ...heldToWire(held) };
    }),
    AcquireWrite: cancellableUnary(async (w: Wire, signal) => {
      const held = await acquireFencedLock(kv, leases, lockRequest(w), signal, { kind: 'rw', mode: 'write' });
      return { header: headerAt(held.header.revision), ...heldToWire(held) };
    }),
    AcquireSemaphore: cancellableUnary(async (w: Wire, signal) => {
      const limit = wireInt(w.semaphore_limit, 'semaphore_limit');
      const held = await acquireFencedLock(kv, leases, lockRequest(w), signal, { kind: 'semaphore', limit });
      return { header: headerAt(held.header.revision), ...heldToWire(held) };
    }),
    TryAcquire: cancellableUnary(async (w: Wire) => {
      const r = await tryAcquireFencedLock(kv, leases, lockRequest(w));
      if (r.acquired)
        return { header: headerAt(r.lock.header.revision), acquired: true, ...heldToWire(r.lock) };
      return {
        header: headerAt(r.header.revision),
        acquired: false,
        holder: r.holder ? holderToWire(r.holder, -1) : null,
      };
    }),
    Release: cancellableUnary(async (w: Wire) => {
      const given = wireBytes(w.key);
      const lease = wireInt(w.lease, 'lease');
      let key = given;
      if (key.byteLength === 0) {
        if (lease === 0)
          throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'cairn: give the lock key, or its name and lease');
        key = participantKey(requiredName(w.name), lease);
      }
      if (w.revoke_lease && lease === 0)
        throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'cairn: revoke_lease needs the lease');
      const r = await releaseFencedLock(kv, leases, {
        key,
        fencingToken: wireInt(w.fencing_token, 'fencing_token'),
        revokeLeaseId: w.revoke_lease ? lease : 0,
      });
      return { header: headerAt(r.header.revision), released: r.released };
    }),
    KeepAlive: cancellableUnary(async (w: Wire) => {
      const lease = wireInt(w.lease, 'lease');
      const ttlSeconds = await leases.renew(lease);
      return { header: header(), ttl_seconds: ttlSeconds };
    }),
    Describe: cancellableUnary(async (w: Wire) => {
      const d = await describeLock(kv, leases, requiredName(w.name));
      return {
        header: headerAt(d.header.revision),
        held: d.holder !== undefined,
        holder: d.holder ? holderInfoToWire(d.holder) : null,
        waiters: d.waiters.map(waiterToWire),
        more_waiters: d.moreWaiters,
      };
    }),
    List: cancellableUnary(async (w: Wire) => {
      const r = await listLocks(kv, leases, wireBytes(w.prefix), wireInt(w.limit, 'limit'));
      return {
        header: headerAt(r.header.revision),
        locks: r.locks.map((l) => ({ name: l.name, holder: holderInfoToWire(l.holder), waiters: l.waiters })),
        more: r.more,
      };
    }),
  };
}
