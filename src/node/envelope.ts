/**
 * The node-level envelope of a normal raft entry: what kind of command it carries, which
 * member proposed it and that member's request sequence number, so the proposer can hand
 * the applied result back to its waiting caller. Layout: u8 kind, u8 reserved, u32x2
 * proposer member id, u32x2 sequence, then the payload.
 */
import { CairnError, ErrorCode } from '../common/errors.js';

/** What an entry's payload is. Numbers are stable: they are in every log on disk. */
export enum EntryKind {
  /** An mvcc command (put, delete, txn, compact, lease...). */
  Mvcc = 1,
  /** A member publishing its name and client URLs (as etcd's publish). */
  MemberAttributes = 2,
  /** A member's new peer URLs (etcd's MemberUpdate); applied by the member registry. */
  MemberUpdate = 3,
  /** Not an entry of its own: the context of a membership configuration change (member-registry.ts). */
  MemberConfChange = 4,
  /** An alarm raised, cleared or listed (etcd's AlarmRequest); 3 and 4 are left to kinds added in parallel. */
  Alarm = 5,
  /** An auth change (users, roles, permissions, enable/disable, an issued token); applied by the auth store. */
  Auth = 6,
  /** An mvcc command proposed on behalf of a user (auth enabled): applied only if the user still has the permissions it needs. */
  MvccAs = 7,
}

const KNOWN_KINDS: ReadonlySet<number> = new Set([
  EntryKind.Mvcc,
  EntryKind.MemberAttributes,
  EntryKind.MemberUpdate,
  EntryKind.MemberConfChange,
  EntryKind.Alarm,
  EntryKind.Auth,
  EntryKind.MvccAs,
]);

const HEADER_BYTES = 18;
const TWO_POW_32 = 2 ** 32;

/** A decoded entry payload. */
export interface Envelope {
  readonly kind: EntryKind;
  /** The member that proposed the entry; 0 when nobody waits for the result. */
  readonly proposer: number;
  /** The proposer's sequence number of the request. */
  readonly seq: number;
  readonly payload: Uint8Array;
}

function writeU53(view: DataView, offset: number, v: number): void {
  view.setUint32(offset, Math.floor(v / TWO_POW_32));
  view.setUint32(offset + 4, v % TWO_POW_32);
}

/** Wraps a payload for proposal. */
export function encodeEnvelope(
  kind: EntryKind,
  proposer: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  writeU53(view, 2, proposer);
  writeU53(view, 10, seq);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Unwraps an entry's data; throws CORRUPT for data no Cairn node could have written. */
export function decodeEnvelope(data: Uint8Array): Envelope {
  if (data.byteLength < HEADER_BYTES)
    throw new CairnError(ErrorCode.CORRUPT, `entry of ${data.byteLength} bytes has no envelope`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const kind = view.getUint8(0);
  if (!KNOWN_KINDS.has(kind)) {
    throw new CairnError(ErrorCode.CORRUPT, `entry has unknown kind ${kind}`);
  }
  const proposer = view.getUint32(2) * TWO_POW_32 + view.getUint32(6);
  const seq = view.getUint32(10) * TWO_POW_32 + view.getUint32(14);
  return { kind, proposer, seq, payload: data.subarray(HEADER_BYTES) };
}
