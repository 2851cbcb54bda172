/**
 * What a key-value request needs from its caller, as etcd's auth applier checks it: read on
 * every range and every Txn compare, write on every put and delete (and read as well when it
 * returns previous values), write on every key of a lease a put attaches to, through nested
 * Txns and both branches. One list, used by the API before proposing and by the state
 * machine again at apply time (an entry proposed on behalf of a user carries the user).
 */
import type { AuthStore } from '../auth/auth-store.js';
import type { Access } from '../auth/types.js';
import type {
  Command,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../mvcc/index.js';

/** One access a request needs. */
export interface NeededAccess {
  readonly access: Access;
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
}

/** The keys attached to a lease now. */
export type KeysOfLease = (leaseId: number) => readonly Uint8Array[];

/** A range needs read on its keys. */
export function rangeAccess(r: RangeRequest): NeededAccess[] {
  return [{ access: 'read', key: r.key, ...(r.rangeEnd ? { rangeEnd: r.rangeEnd } : {}) }];
}

/** A put needs write on its key, read too for prev_kv, and write on every key of its lease. */
export function putAccess(r: PutRequest, keysOfLease: KeysOfLease): NeededAccess[] {
  const out: NeededAccess[] = [{ access: 'write', key: r.key }];
  if (r.prevKv) out.push({ access: 'read', key: r.key });
  if (r.lease) for (const key of keysOfLease(r.lease)) out.push({ access: 'write', key });
  return out;
}

/** A delete needs write on its range, read too for prev_kv. */
export function deleteAccess(r: DeleteRangeRequest): NeededAccess[] {
  const range = { key: r.key, ...(r.rangeEnd ? { rangeEnd: r.rangeEnd } : {}) };
  return r.prevKv
    ? [
        { access: 'write', ...range },
        { access: 'read', ...range },
      ]
    : [{ access: 'write', ...range }];
}

/** A Txn needs read on its compares and what every operation of both branches needs. */
export function txnAccess(t: TxnRequest, keysOfLease: KeysOfLease): NeededAccess[] {
  const out: NeededAccess[] = (t.compare ?? []).map((c) => ({
    access: 'read' as const,
    key: c.key,
    ...(c.rangeEnd ? { rangeEnd: c.rangeEnd } : {}),
  }));
  const op = (o: RequestOp): NeededAccess[] => {
    if ('requestRange' in o) return rangeAccess(o.requestRange);
    if ('requestPut' in o) return putAccess(o.requestPut, keysOfLease);
    if ('requestDeleteRange' in o) return deleteAccess(o.requestDeleteRange);
    return txnAccess(o.requestTxn, keysOfLease);
  };
  for (const o of [...(t.success ?? []), ...(t.failure ?? [])]) out.push(...op(o));
  return out;
}

/** What a replicated command needs; commands without keys (compact, leases) need none here. */
export function commandAccess(c: Command, keysOfLease: KeysOfLease): NeededAccess[] {
  switch (c.type) {
    case 'put':
      return putAccess(c.request, keysOfLease);
    case 'deleteRange':
      return deleteAccess(c.request);
    case 'txn':
      return txnAccess(c.request, keysOfLease);
    default:
      return [];
  }
}

/** Whether `user` holds every access in `needed` (auth disabled: yes). */
export function userPermitted(auth: AuthStore, user: string, needed: readonly NeededAccess[]): boolean {
  if (!auth.enabled) return true;
  return needed.every((n) => auth.permitted(user, n.access, n.key, n.rangeEnd));
}

const HEADER_BYTES = 2;

/** The payload of an EntryKind.MvccAs entry: u16 user name length, the name (UTF-8), the mvcc command. */
export function encodeCommandAs(user: string, command: Uint8Array): Uint8Array {
  const name = new TextEncoder().encode(user);
  const out = new Uint8Array(HEADER_BYTES + name.byteLength + command.byteLength);
  new DataView(out.buffer).setUint16(0, name.byteLength);
  out.set(name, HEADER_BYTES);
  out.set(command, HEADER_BYTES + name.byteLength);
  return out;
}

/** Splits an EntryKind.MvccAs payload; undefined when malformed. */
export function decodeCommandAs(payload: Uint8Array): { user: string; command: Uint8Array } | undefined {
  if (payload.byteLength < HEADER_BYTES) return undefined;
  const len = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint16(0);
  if (HEADER_BYTES + len > payload.byteLength) return undefined;
  return {
    user: new TextDecoder().decode(payload.subarray(HEADER_BYTES, HEADER_BYTES + len)),
    command: payload.subarray(HEADER_BYTES + len),
  };
}
