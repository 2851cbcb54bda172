/**
 * Converts raft messages (src/raft/types.ts) to and from their wire shape, and validates
 * what arrives: a known wire message type and safe integers everywhere, because a peer's
 * bytes are not trusted to hold the contract.
 */
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type Snapshot,
} from '../raft/types.js';
import type { WireConfState, WireEntry, WireEnvelope, WireMessage, WireSnapshot } from './raft-proto.js';

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

/** Why an incoming envelope was refused; the message goes into the gRPC status. */
export class WireDecodeError extends Error {
  override readonly name = 'WireDecodeError';
}

const EMPTY_BYTES = new Uint8Array(0);

/** Builds the wire shape of a message addressed within a cluster. */
export function encodeEnvelope(clusterId: number, m: Message): WireEnvelope {
  return { cluster_id: clusterId, from: m.from, to: m.to, message: encodeMessage(m) };
}

function encodeMessage(m: Message): WireMessage {
  return {
    type: m.type,
    to: m.to,
    from: m.from,
    term: m.term,
    log_term: m.logTerm,
    index: m.index,
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, type: e.type, data: e.data })),
    commit: m.commit,
    snapshot: m.snapshot === undefined ? null : encodeSnapshot(m.snapshot),
    reject: m.reject,
    reject_hint: m.rejectHint,
    has_context: m.context !== undefined,
    context: m.context ?? EMPTY_BYTES,
  };
}

function encodeSnapshot(s: Snapshot): WireSnapshot {
  const c = s.metadata.confState;
  return {
    metadata: {
      index: s.metadata.index,
      term: s.metadata.term,
      conf_state: {
        voters: [...c.voters],
        learners: [...c.learners],
        voters_outgoing: [...c.votersOutgoing],
        learners_next: [...c.learnersNext],
        auto_leave: c.autoLeave,
      },
    },
    data: s.data,
  };
}

/** An upper estimate of a message's encoded size, for the outgoing queue's byte bound. */
export function estimateMessageBytes(m: Message): number {
  let bytes = 96 + (m.context?.byteLength ?? 0);
  for (const e of m.entries) bytes += 24 + e.data.byteLength;
  if (m.snapshot !== undefined) {
    const c = m.snapshot.metadata.confState;
    bytes += 64 + m.snapshot.data.byteLength;
    bytes += 10 * (c.voters.length + c.learners.length + c.votersOutgoing.length + c.learnersNext.length);
  }
  return bytes;
}

function safe(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new WireDecodeError(`field ${field} is not a safe non-negative integer: ${String(value)}`);
  }
  return value;
}

function bytes(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new WireDecodeError(`field ${field} is not bytes`);
  // A plain Uint8Array view (not a Buffer) so that receivers see exactly the contract's type.
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function ids(values: unknown, field: string): number[] {
  if (!Array.isArray(values)) throw new WireDecodeError(`field ${field} is not a list`);
  return values.map((v, i) => safe(v, `${field}[${i}]`));
}

function decodeEntry(e: WireEntry, i: number): Entry {
  const type = safe(e.type, `entries[${i}].type`);
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) {
    throw new WireDecodeError(`entries[${i}].type ${type} is unknown`);
  }
  return {
    term: safe(e.term, `entries[${i}].term`),
    index: safe(e.index, `entries[${i}].index`),
    type,
    data: bytes(e.data, `entries[${i}].data`),
  };
}

function decodeConfState(c: WireConfState | null): ConfState {
  if (c === null) throw new WireDecodeError('snapshot.metadata.conf_state is missing');
  return {
    voters: ids(c.voters, 'voters'),
    learners: ids(c.learners, 'learners'),
    votersOutgoing: ids(c.voters_outgoing, 'voters_outgoing'),
    learnersNext: ids(c.learners_next, 'learners_next'),
    autoLeave: c.auto_leave === true,
  };
}

function decodeSnapshot(s: WireSnapshot): Snapshot {
  if (s.metadata === null) throw new WireDecodeError('snapshot.metadata is missing');
  return {
    metadata: {
      index: safe(s.metadata.index, 'snapshot.metadata.index'),
      term: safe(s.metadata.term, 'snapshot.metadata.term'),
      confState: decodeConfState(s.metadata.conf_state),
    },
    data: bytes(s.data, 'snapshot.data'),
  };
}

/** Decodes and validates one envelope's message; throws WireDecodeError on anything off-contract. */
export function decodeMessage(env: WireEnvelope): Message {
  const w = env.message;
  if (w === null || w === undefined) throw new WireDecodeError('envelope carries no message');
  const type = safe(w.type, 'type') as MessageType;
  if (!WIRE_MESSAGE_TYPES.has(type)) throw new WireDecodeError(`message type ${type} may not cross the wire`);
  const from = safe(w.from, 'from');
  const to = safe(w.to, 'to');
  if (from === 0 || to === 0) throw new WireDecodeError('message from/to must be non-zero');
  if (from !== env.from || to !== env.to)
    throw new WireDecodeError('message from/to differ from the envelope');
  if (!Array.isArray(w.entries)) throw new WireDecodeError('field entries is not a list');
  const m: Message = {
    type,
    to,
    from,
    term: safe(w.term, 'term'),
    logTerm: safe(w.log_term, 'log_term'),
    index: safe(w.index, 'index'),
    entries: w.entries.map(decodeEntry),
    commit: safe(w.commit, 'commit'),
    reject: w.reject === true,
    rejectHint: safe(w.reject_hint, 'reject_hint'),
    ...(w.snapshot !== null && w.snapshot !== undefined ? { snapshot: decodeSnapshot(w.snapshot) } : {}),
    ...(w.has_context === true ? { context: bytes(w.context, 'context') } : {}),
  };
  if (type === MessageType.Snap && m.snapshot === undefined)
    throw new WireDecodeError('Snap without snapshot');
  return m;
}
