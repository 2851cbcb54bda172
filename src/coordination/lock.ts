/**
 * Distributed lock with etcd's clientv3 Mutex key layout (what etcdctl lock and etcd's Lock
 * service use), so Cairn's Lock service and etcd clients exclude each other. Lock(name,
 * lease) puts `<name>/<lease hex>` with the lease, unless the lease already has that key,
 * and reads the oldest key under the name in the same Txn; if that is not ours, it waits in
 * line (queue.ts). The holder's key create revision is its fencing token (etcdctl exports it
 * as ETCD_LOCK_REV): a later holder always has a larger one.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { EMPTY_BYTES, type ResponseHeader, type TxnRequest } from '../mvcc/index.js';
import { createRevisionIs, firstCreated, participantKey, participantPrefix } from './keys.js';
import type { CoordinationKv } from './ports.js';
import { leaveLine, waitTurn } from './queue.js';

/** A held lock: the key to unlock with and the fencing token. */
export interface HeldLock {
  readonly key: Uint8Array;
  /** The create revision of the key: the fencing token, larger for every later holder. */
  readonly createRevision: number;
  /** The revision the lock was known held at (first in line, when not yet confirmed). */
  readonly header: ResponseHeader;
  /** False when the key's existence after the wait is still for the caller to confirm (see acquireLock). */
  readonly confirmed: boolean;
  /** The revision of the Txn that put (or found) the key in this call: the wait began after it. */
  readonly joinedAtRevision: number;
}

/** etcd's error for a waiter whose key vanished (lease expired or revoked) before its turn. */
export function sessionExpired(): CairnError {
  return new CairnError(ErrorCode.LOCK_SESSION_EXPIRED, 'mutex: session is expired');
}

function rangeOf(op: unknown): { kvs: readonly { createRevision: number }[] } {
  return (op as { responseRange: { kvs: readonly { createRevision: number }[] } }).responseRange;
}

/**
 * Takes the lock `name` for lease `leaseId` (0: a key with no lease, which only Unlock
 * removes), waiting as long as it takes; aborting signal stops the wait and removes our key.
 * `value` is what a new key is put with (etcd's recipe: empty; Cairn's LockService: the
 * owner description); etcd's waiters look only at keys and create revisions, never values.
 * After a wait, a linearizable read confirms that the key still exists, unless
 * `callerConfirms` (the caller then confirms it with a write guarded by the key's create
 * revision before it tells anyone, as fenced-lock.ts's stamp does, and `confirmed` is false).
 */
export async function acquireLock(
  kv: CoordinationKv,
  name: Uint8Array,
  leaseId: number,
  signal: AbortSignal,
  value: Uint8Array = EMPTY_BYTES,
  callerConfirms = false,
): Promise<HeldLock> {
  const prefix = participantPrefix(name);
  const key = participantKey(name, leaseId);
  const txn: TxnRequest = {
    compare: [createRevisionIs(key, 0)],
    success: [{ requestPut: { key, value, lease: leaseId } }, { requestRange: firstCreated(prefix) }],
    failure: [{ requestRange: { key } }, { requestRange: firstCreated(prefix) }],
  };
  const resp = await kv.txn(txn);
  const createRevision = resp.succeeded
    ? resp.header.revision
    : rangeOf(resp.responses[0]).kvs[0]!.createRevision;
  const owner = rangeOf(resp.responses[1]).kvs[0];
  const joinedAtRevision = resp.header.revision;
  if (!owner || owner.createRevision === createRevision)
    return { key, createRevision, header: resp.header, confirmed: true, joinedAtRevision };

  try {
    const turn = await waitTurn(
      kv,
      { prefix, key, createRevision, seenAtRevision: resp.header.revision },
      signal,
    );
    if (turn.kind === 'ownKeyDeleted') throw sessionExpired();
    if (callerConfirms)
      return { key, createRevision, header: turn.header, confirmed: false, joinedAtRevision };
    const check = await kv.range({ key });
    if (check.kvs[0]?.createRevision !== createRevision) throw sessionExpired();
    return { key, createRevision, header: check.header, confirmed: true, joinedAtRevision };
  } catch (err) {
    // As etcd's Mutex: a waiter that gives up takes its key out of the line.
    await leaveLine(kv, key, createRevision).catch(() => {});
    throw err;
  }
}

/** Releases a lock by deleting its key (as etcd's Unlock: whoever holds the key may delete it). */
export async function releaseLock(kv: CoordinationKv, key: Uint8Array): Promise<ResponseHeader> {
  const resp = await kv.txn({ success: [{ requestDeleteRange: { key } }] });
  return resp.header;
}
