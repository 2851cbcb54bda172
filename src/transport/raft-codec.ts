/**
 * Converts raft messages (src/raft/types.ts) to and from their wire shape and validates what
 * arrives: the address (cluster, addressee), a known wire message type and safe integers
 * everywhere, because a peer's bytes are not trusted to hold the contract. A snapshot's data
 * is not part of a message on the wire; snapshot-chunks.ts carries it.
 */
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type SnapshotMetadata,
} from '../raft/types.js';
import type { WireConfState, WireEntry, WireEnvelope, WireMessage } from './raft-proto.js';
import { PeerRefusal, RefusalReason } from './refusal.js';

/** Message types that may cross the wire; the others are local to a node. */
export const WIRE_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.Prop,
  MessageType.App,
  MessageType.AppResp,
  MessageType.Vote,
  MessageType.VoteResp,
  MessageType.Snap,
  MessageType.Heartbeat,
  MessageType.HeartbeatResp,
  MessageType.TransferLeader,
  MessageType.TimeoutNow,
  MessageType.ReadIndex,
  MessageType.ReadIndexResp,
  MessageType.PreVote,
  MessageType.PreVoteResp,
]);

/** Who a member is, for checking the address on what arrives. */
export interface LocalAddress {
  readonly clusterId: number;
  readonly selfId: number;
}

/** A decoded message and, on Snap, the metadata its chunked data belongs to. */
export interface DecodedMessage {
  /** The message without its snapshot (the data arrives separately). */
  readonly message: Message;
  readonly snapshotMetadata: SnapshotMetadata | undefined;
}

const EMPTY_BYTES = new Uint8Array(0);

/** Builds the wire shape of a message; a snapshot contributes its metadata only. */
export function encodeMessage(m: Message): WireMessage {
  return {
    type: m.type,
    to: m.to,
    from: m.from,
    term: m.term,
    log_term: m.logTerm,
    index: m.index,
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, type: e.type, data: e.data })),
    commit: m.commit,
    snapshot: m.snapshot === undefined ? null : encodeSnapshotMetadata(m.snapshot.metadata),
    reject: m.reject,
    reject_hint: m.rejectHint,
    has_context: m.context !== undefined,
    context: m.context ?? EMPTY_BYTES,
  };
}

/** Builds the envelope of a message for the Stream call. */
export function encodeEnvelope(clusterId: number, m: Message): WireEnvelope {
  return { cluster_id: clusterId, from: m.from, to: m.to, message: encodeMessage(m) };
}

function encodeSnapshotMetadata(md: SnapshotMetadata): WireMessage['snapshot'] {
  const c = md.confState;
  return {
    index: md.index,
    term: md.term,
    conf_state: {
      voters: [...c.voters],
      learners: [...c.learners],
      voters_outgoing: [...c.votersOutgoing],
      learners_next: [...c.learnersNext],
      auto_leave: c.autoLeave,
    },
  };
}

function invalid(message: string): PeerRefusal {
  return new PeerRefusal(RefusalReason.INVALID, message);
}

/** A non-negative JS safe integer, or a refusal naming the field. */
export function safeUint(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`field ${field} is not a non-negative safe integer: ${String(value)}`);
  }
  return value;
}

function bytes(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(`field ${field} is not bytes`);
  // A plain Uint8Array view (not a Buffer), so receivers see exactly the contract's type.
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function ids(values: unknown, field: string): number[] {
  if (!Array.isArray(values)) throw invalid(`field ${field} is not a list`);
  return values.map((v, i) => safeUint(v, `${field}[${i}]`));
}

/**
 * Checks that a request comes from this cluster and is addressed to this member, and that
 * its sender is a real member id.
 */
export function checkAddress(
  wire: { cluster_id: unknown; from: unknown; to: unknown },
  local: LocalAddress,
): void {
  if (wire.cluster_id !== local.clusterId) {
    throw new PeerRefusal(
      RefusalReason.WRONG_CLUSTER,
      `cluster id mismatch: member ${local.selfId} belongs to cluster ${local.clusterId}, the sender to ${String(wire.cluster_id)}`,
    );
  }
  if (wire.to !== local.selfId) {
    throw new PeerRefusal(
      RefusalReason.WRONG_MEMBER,
      `member id mismatch: addressed to member ${String(wire.to)}, arrived at member ${local.selfId}`,
    );
  }
  if (safeUint(wire.from, 'from') === 0) throw invalid('sender id is 0');
}

function decodeEntry(e: WireEntry, i: number): Entry {
  const type = safeUint(e.type, `entries[${i}].type`);
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) {
    throw invalid(`entries[${i}].type ${type} is unknown`);
  }
  return {
    term: safeUint(e.term, `entries[${i}].term`),
    index: safeUint(e.index, `entries[${i}].index`),
    type,
    data: bytes(e.data, `entries[${i}].data`),
  };
}

function decodeConfState(c: WireConfState | null): ConfState {
  if (c === null) throw invalid('snapshot.conf_state is missing');
  return {
    voters: ids(c.voters, 'voters'),
    learners: ids(c.learners, 'learners'),
    votersOutgoing: ids(c.voters_outgoing, 'voters_outgoing'),
    learnersNext: ids(c.learners_next, 'learners_next'),
    autoLeave: c.auto_leave === true,
  };
}

/**
 * Decodes and validates a message whose carrier (envelope or first chunk) was sent by
 * `from` to `to`; throws a PeerRefusal on anything off-contract.
 */
export function decodeMessage(w: WireMessage | null | undefined, from: number, to: number): DecodedMessage {
  if (w === null || w === undefined) throw invalid('no message');
  const type = safeUint(w.type, 'type') as MessageType;
  if (!WIRE_MESSAGE_TYPES.has(type)) throw invalid(`message type ${type} may not cross the wire`);
  if (w.from !== from || w.to !== to) throw invalid('message from/to differ from the envelope');
  if (!Array.isArray(w.entries)) throw invalid('field entries is not a list');
  let snapshotMetadata: SnapshotMetadata | undefined;
  if (w.snapshot !== null && w.snapshot !== undefined) {
    snapshotMetadata = {
      index: safeUint(w.snapshot.index, 'snapshot.index'),
      term: safeUint(w.snapshot.term, 'snapshot.term'),
      confState: decodeConfState(w.snapshot.conf_state),
    };
  }
  if ((type === MessageType.Snap) !== (snapshotMetadata !== undefined)) {
    throw invalid('snapshot metadata must come with a Snap message, and only with one');
  }
  const message: Message = {
    type,
    to,
    from,
    term: safeUint(w.term, 'term'),
    logTerm: safeUint(w.log_term, 'log_term'),
    index: safeUint(w.index, 'index'),
    entries: w.entries.map(decodeEntry),
    commit: safeUint(w.commit, 'commit'),
    reject: w.reject === true,
    rejectHint: safeUint(w.reject_hint, 'reject_hint'),
    ...(w.has_context === true ? { context: bytes(w.context, 'context') } : {}),
  };
  return { message, snapshotMetadata };
}
