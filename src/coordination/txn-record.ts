/**
 * Two-phase-commit decision records: their key layout, their JSON form and the pure rules
 * that move one from PREPARING to its decision. Nothing here touches the store; the
 * coordinator (txn-coordinator.ts) writes each result with a Txn guarded by the record's
 * mod_revision, so every rule sees the record exactly as it will be replaced.
 *
 * Layout. One ordinary key per transaction, `/cairn/txn/<txn_id>`, whose value is the JSON
 *   {"id","state","participants","votes","beganUnixMs","deadlineUnixMs","reason",
 *    "decidedUnixMs","decidedAtRevision","acks","finishedUnixMs","metadata"}
 * state: "PREPARING" | "COMMIT" | "ABORT"; votes: {participant: "YES" | "NO"}; acks: the
 * participants that applied the decision. `etcdctl get --prefix /cairn/txn/` lists them all.
 *
 * Rules. COMMIT when every participant voted YES; ABORT on any NO, on the deadline (reason
 * "deadline", proposed by the leader), or on an explicit Abort (its reason). A decided record
 * never changes state again. The deadline is absolute (the Begin member's clock + timeout),
 * written into the record, so whoever leads later enforces the same deadline.
 *
 * The decision version. The write that decides stores decidedAtRevision 0; the first write
 * after it (an Ack) fills in the decision's revision, which it reads as the record's
 * mod_revision. So in the key's history exactly one version is decided with
 * decidedAtRevision 0: the decision itself, which is what Watch streams.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { KeyValue } from '../mvcc/index.js';
import { prefixRangeEnd } from './keys.js';

/** Where a transaction stands; COMMIT and ABORT are decisions and final. */
export type TxnState = 'PREPARING' | 'COMMIT' | 'ABORT';
/** A participant's vote. */
export type TxnVote = 'YES' | 'NO';

/** The stored record (the key's JSON value). */
export interface TxnRecord {
  readonly id: string;
  readonly state: TxnState;
  /** Sorted, unique. */
  readonly participants: readonly string[];
  readonly votes: Readonly<Record<string, TxnVote>>;
  readonly beganUnixMs: number;
  readonly deadlineUnixMs: number;
  /** Why it aborted; empty for PREPARING and COMMIT. */
  readonly reason: string;
  readonly decidedUnixMs: number;
  /** The decision's revision once a later write learned it; 0 in the decision version itself. */
  readonly decidedAtRevision: number;
  /** Sorted, unique. */
  readonly acks: readonly string[];
  /** When the last participant acknowledged; 0 until then. */
  readonly finishedUnixMs: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A record with its key's revisions, as read from the store. */
export interface StoredTxn {
  readonly record: TxnRecord;
  readonly createRevision: number;
  readonly modRevision: number;
}

/** What Begin asks for. */
export interface BeginInput {
  readonly txnId: string;
  readonly participants: readonly string[];
  readonly timeoutMs: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Limits on what a record may hold, so one record stays far below the request size limit. */
export const TXN_LIMITS = {
  idBytesMax: 256,
  participantsMax: 64,
  metadataBytesMax: 16 * 1024,
  timeoutMsMax: 24 * 60 * 60 * 1000,
} as const;

/** The reason a deadline abort records. */
export const DEADLINE_REASON = 'deadline';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The prefix every record key starts with. */
export const TXN_PREFIX = '/cairn/txn/';

/** The key of a transaction's record. */
export function txnKey(txnId: string): Uint8Array {
  return encoder.encode(TXN_PREFIX + txnId);
}

/** The range [key, rangeEnd) of every record. */
export function txnRange(): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = encoder.encode(TXN_PREFIX);
  return { key, rangeEnd: prefixRangeEnd(key) };
}

function invalid(message: string): CairnError {
  return new CairnError(ErrorCode.INVALID_ARGUMENT, `cairn: ${message}`);
}

/** Checks a transaction id or participant name: non-empty, at most idBytesMax bytes. */
export function checkName(value: string, what: string): string {
  if (value.length === 0) throw invalid(`${what} is empty`);
  if (encoder.encode(value).byteLength > TXN_LIMITS.idBytesMax)
    throw invalid(`${what} is longer than ${TXN_LIMITS.idBytesMax} bytes`);
  return value;
}

/** A new PREPARING record for Begin, its deadline nowMs + timeout. */
export function newRecord(input: BeginInput, nowMs: number): TxnRecord {
  checkName(input.txnId, 'txn_id');
  if (input.participants.length === 0) throw invalid('a transaction needs at least one participant');
  if (input.participants.length > TXN_LIMITS.participantsMax)
    throw invalid(`more than ${TXN_LIMITS.participantsMax} participants`);
  for (const p of input.participants) checkName(p, 'participant');
  const participants = [...new Set(input.participants)].sort();
  if (participants.length !== input.participants.length) throw invalid('a participant is listed twice');
  if (
    !Number.isSafeInteger(input.timeoutMs) ||
    input.timeoutMs <= 0 ||
    input.timeoutMs > TXN_LIMITS.timeoutMsMax
  )
    throw invalid(`timeout_ms must be between 1 and ${TXN_LIMITS.timeoutMsMax}`);
  const metadataBytes = Object.entries(input.metadata).reduce(
    (n, [k, v]) => n + encoder.encode(k).byteLength + encoder.encode(v).byteLength,
    0,
  );
  if (metadataBytes > TXN_LIMITS.metadataBytesMax)
    throw invalid(`metadata is larger than ${TXN_LIMITS.metadataBytesMax} bytes`);
  return {
    id: input.txnId,
    state: 'PREPARING',
    participants,
    votes: {},
    beganUnixMs: nowMs,
    deadlineUnixMs: nowMs + input.timeoutMs,
    reason: '',
    decidedUnixMs: 0,
    decidedAtRevision: 0,
    acks: [],
    finishedUnixMs: 0,
    metadata: { ...input.metadata },
  };
}

/** Whether a retried Begin names the same participants as the record (order and repeats aside). */
export function sameParticipants(record: TxnRecord, participants: readonly string[]): boolean {
  const asked = [...new Set(participants)].sort();
  return asked.length === record.participants.length && asked.every((p, i) => p === record.participants[i]);
}

function checkParticipant(record: TxnRecord, participant: string): void {
  if (!record.participants.includes(participant))
    throw new CairnError(
      ErrorCode.TXN_NOT_PARTICIPANT,
      `cairn: ${participant} is not a participant of transaction ${record.id}`,
    );
}

function decided(record: TxnRecord, state: 'COMMIT' | 'ABORT', reason: string, nowMs: number): TxnRecord {
  return { ...record, state, reason, decidedUnixMs: nowMs, decidedAtRevision: 0 };
}

/**
 * The record after participant's vote, or undefined when nothing changes (the same vote
 * again, or any vote once decided). A vote different from the one recorded is refused.
 */
export function withVote(
  record: TxnRecord,
  participant: string,
  vote: TxnVote,
  reason: string,
  nowMs: number,
): TxnRecord | undefined {
  checkParticipant(record, participant);
  const recorded = record.votes[participant];
  if (recorded !== undefined && recorded !== vote)
    throw new CairnError(
      ErrorCode.TXN_VOTE_CHANGED,
      `cairn: ${participant} already voted ${recorded} in transaction ${record.id}`,
    );
  if (recorded !== undefined || record.state !== 'PREPARING') return undefined;
  // Past the deadline a vote no longer counts: the transaction aborts, as the leader's scan
  // would a moment later (so a late YES can never turn into a COMMIT).
  if (record.deadlineUnixMs <= nowMs) return withDeadline(record, nowMs);
  const next: TxnRecord = { ...record, votes: { ...record.votes, [participant]: vote } };
  if (vote === 'NO') {
    const why = reason === '' ? `${participant} voted NO` : `${participant} voted NO: ${reason}`;
    return decided(next, 'ABORT', why, nowMs);
  }
  const allYes = next.participants.every((p) => next.votes[p] === 'YES');
  return allYes ? decided(next, 'COMMIT', '', nowMs) : next;
}

/**
 * The record aborted with reason, or undefined when it already is ABORT. A COMMIT is
 * refused: a decision never changes.
 */
export function withAbort(record: TxnRecord, reason: string, nowMs: number): TxnRecord | undefined {
  if (record.state === 'ABORT') return undefined;
  if (record.state === 'COMMIT')
    throw new CairnError(
      ErrorCode.TXN_ALREADY_DECIDED,
      `cairn: transaction ${record.id} is already committed`,
    );
  return decided(record, 'ABORT', reason, nowMs);
}

/** The deadline abort if the record is PREPARING past its deadline at nowMs; otherwise undefined. */
export function withDeadline(record: TxnRecord, nowMs: number): TxnRecord | undefined {
  if (record.state !== 'PREPARING' || record.deadlineUnixMs > nowMs) return undefined;
  return decided(record, 'ABORT', DEADLINE_REASON, nowMs);
}

/**
 * The record after participant acknowledged the decision (read at modRevision), or
 * undefined if it had already. The first write after the decision records its revision.
 */
export function withAck(
  record: TxnRecord,
  modRevision: number,
  participant: string,
  nowMs: number,
): TxnRecord | undefined {
  checkParticipant(record, participant);
  if (record.state === 'PREPARING')
    throw new CairnError(ErrorCode.TXN_NOT_DECIDED, `cairn: transaction ${record.id} is not decided yet`);
  if (record.acks.includes(participant)) return undefined;
  const acks = [...record.acks, participant].sort();
  return {
    ...record,
    acks,
    decidedAtRevision: record.decidedAtRevision === 0 ? modRevision : record.decidedAtRevision,
    finishedUnixMs: acks.length === record.participants.length ? nowMs : 0,
  };
}

/** Whether this version of a record is the write that decided it (see the file comment). */
export function isDecisionVersion(record: TxnRecord): boolean {
  return record.state !== 'PREPARING' && record.decidedAtRevision === 0;
}

/** The revision of the decision of a stored record; 0 while PREPARING. */
export function decisionRevision(txn: StoredTxn): number {
  if (txn.record.state === 'PREPARING') return 0;
  return txn.record.decidedAtRevision === 0 ? txn.modRevision : txn.record.decidedAtRevision;
}

/** Whether every participant acknowledged the decision. */
export function isFinished(record: TxnRecord): boolean {
  return record.state !== 'PREPARING' && record.acks.length === record.participants.length;
}

/** The JSON value of a record. */
export function encodeRecord(record: TxnRecord): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function isStringMap(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === 'string')
  );
}

/** A record from a key's value; undefined when the value is not a record (someone else wrote it). */
export function decodeRecord(value: Uint8Array): TxnRecord | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(decoder.decode(value)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const numbers = ['beganUnixMs', 'deadlineUnixMs', 'decidedUnixMs', 'decidedAtRevision', 'finishedUnixMs'];
  if (
    typeof v.id !== 'string' ||
    (v.state !== 'PREPARING' && v.state !== 'COMMIT' && v.state !== 'ABORT') ||
    !isStringArray(v.participants) ||
    !isStringArray(v.acks) ||
    !isStringMap(v.votes) ||
    !Object.values(v.votes).every((x) => x === 'YES' || x === 'NO') ||
    !isStringMap(v.metadata) ||
    typeof v.reason !== 'string' ||
    !numbers.every((n) => Number.isSafeInteger(v[n]))
  )
    return undefined;
  return v as unknown as TxnRecord;
}

/** A stored record from a key-value; undefined when the value is not a record. */
export function storedFrom(kv: KeyValue): StoredTxn | undefined {
  const record = decodeRecord(kv.value);
  return record ? { record, createRevision: kv.createRevision, modRevision: kv.modRevision } : undefined;
}
