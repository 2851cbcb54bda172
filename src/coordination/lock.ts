/**
 * Distributed lock with etcd's clientv3 Mutex key layout (what etcdctl lock and etcd's Lock
 * service use), so Cairn's Lock service and etcd clients exclude each other. Lock(name,
 * lease) puts `<name>/<lease hex>` with the lease, unless the lease already has that key,
 * and reads the oldest key under the name in the same Txn; if that is not ours, it waits in
 * line (queue.ts). The holder's key create revision is its fencing token (etcdctl exports it
 * as ETCD_LOCK_REV): a later holder always has a larger one.
 *
 * The hand-over: a holder's release (Unlock here, Release in fenced-lock.ts) deletes its key
 * and, in the same Txn, stamps the key next in line (a put of its own value, guarded by its
 * create revision). The waiter, woken by that deletion on its member, finds the stamp in its
 * member's applied state and answers at once: without the stamp it would need a linearizable
 * read (a ReadIndex round to the leader and a quorum) to confirm that its key still exists.
 */
import { CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import {
  EMPTY_BYTES,
  type KeyValue,
  type RequestOp,
  type ResponseHeader,
  type TxnRequest,
} from '../mvcc/index.js';
import { createRevisionIs, firstCreated, mutexPrefixOf, participantKey, participantPrefix } from './keys.js';
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
 * After a wait, the key is confirmed to exist by the releaser's stamp (see the header) or,
 * when there is none, by a linearizable read, unless `callerConfirms` (the caller then
 * confirms it with a write guarded by the key's create revision before it tells anyone, as
 * fenced-lock.ts's stamp does, and `confirmed` is false).
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
    const handedOver = await stampedByReleaser(kv, { key, createRevision, joinedAtRevision });
    if (handedOver !== undefined)
      return { key, createRevision, header: handedOver, confirmed: true, joinedAtRevision };
    const check = await kv.range({ key });
    if (check.kvs[0]?.createRevision !== createRevision) throw sessionExpired();
    return { key, createRevision, header: check.header, confirmed: true, joinedAtRevision };
  } catch (err) {
    // As etcd's Mutex: a waiter that gives up takes its key out of the line.
    await leaveLine(kv, key, createRevision).catch(() => {});
    throw err;
  }
}

/**
 * Releases a lock by deleting its key (as etcd's Unlock: whoever holds the key may delete it,
 * whatever its generation). If the key leads the line on this member, the same Txn hands the
 * lock to the next waiter (see the header), guarded so that it happens only if the key deleted
 * is the generation that led. The hand-over reads the line and writes the next key: a caller
 * refused that (etcd's Unlock needs write on its own key only) gets the plain delete.
 */
export async function releaseLock(kv: CoordinationKv, key: Uint8Array): Promise<ResponseHeader> {
  const deleteKey: RequestOp = { requestDeleteRange: { key } };
  try {
    const line = await nextInLine(kv, key);
    if (line !== undefined) {
      const resp = await kv.txn({
        compare: [createRevisionIs(key, line.holderCreateRevision)],
        success: [deleteKey, ...handOverTo(line.next)],
        failure: [deleteKey],
      });
      return resp.header;
    }
  } catch (err) {
    if (!isCairnError(err, ErrorCode.PERMISSION_DENIED)) throw err;
  }
  const resp = await kv.txn({ success: [deleteKey] });
  return resp.header;
}

/** The holder of a Mutex and the participant just behind it, as one member's applied state shows them. */
export interface LineHead {
  /** The create revision of the releasing key, which leads the line. */
  readonly holderCreateRevision: number;
  /** The Mutex participant next in line. */
  readonly next: KeyValue;
}

/**
 * The Mutex participant next in line after `key`, from this member's applied state (a
 * serializable read): undefined unless `key` is first in line there and the next key is a
 * Mutex key too. A stale state cannot name the wrong waiter: keys are only ever added behind
 * the holder, the release's Txn is guarded by the holder's create revision, and a waiter that
 * left the line since fails the stamp's own guard.
 */
export async function nextInLine(kv: CoordinationKv, key: Uint8Array): Promise<LineHead | undefined> {
  const prefix = mutexPrefixOf(key);
  if (prefix === undefined) return undefined;
  const line = await kv.range({ ...firstCreated(prefix), limit: 2, serializable: true });
  const [first, next] = line.kvs;
  if (first === undefined || next === undefined || Buffer.compare(first.key, key) !== 0) return undefined;
  if (mutexPrefixOf(next.key) === undefined) return undefined;
  return { holderCreateRevision: first.createRevision, next };
}

/** The operation of a release's Txn that stamps the next waiter's key (none when there is no next waiter). */
export function handOverTo(next: KeyValue | undefined): RequestOp[] {
  if (next === undefined) return [];
  return [
    {
      requestTxn: {
        compare: [createRevisionIs(next.key, next.createRevision)],
        success: [{ requestPut: { key: next.key, value: next.value, ignoreLease: true } }],
        failure: [],
      },
    },
  ];
}

/**
 * The header to answer with when a holder's release already stamped this waiter's key: the
 * key, same generation, was written after this call joined the line. The release's Txn deleted
 * the holder's key and wrote ours in one revision while ours was next, so at that revision,
 * inside this call, the key existed and was first: the lock was taken then. A serializable
 * read suffices: the wait ended on the deletion from that Txn, so this member has applied it.
 * Undefined when there is no such stamp (the caller confirms otherwise).
 */
export async function stampedByReleaser(
  kv: CoordinationKv,
  held: Pick<HeldLock, 'key' | 'createRevision' | 'joinedAtRevision'>,
): Promise<ResponseHeader | undefined> {
  const own = await kv.range({ key: held.key, serializable: true });
  const k = own.kvs[0];
  if (k === undefined || k.createRevision !== held.createRevision) return undefined;
  return k.modRevision > held.joinedAtRevision ? own.header : undefined;
}
