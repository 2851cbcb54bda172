/**
 * The SDK's typed view of cairn.v1.CoordinatorService records (proto/cairn/v1/coordinator.proto):
 * states and votes as strings instead of enum numbers, votes as a map per participant, and
 * the conversions to and from the wire objects proto-loader gives.
 */
import { ErrorCode } from '../common/errors.js';
import type { Wire } from './connection.js';
import { ClientError } from './errors.js';

/** Where a transaction stands; COMMIT and ABORT are decisions and never change. */
export type TxnState = 'PREPARING' | 'COMMIT' | 'ABORT';
/** A decided state. */
export type TxnDecision = 'COMMIT' | 'ABORT';
/** A participant's vote in the prepare phase. */
export type TxnVote = 'YES' | 'NO';

/** One transaction's record as the coordinator keeps it. */
export interface TxnRecord {
  /** The transaction's id, chosen by the caller of begin(). */
  readonly txnId: string;
  /** Where it stands: PREPARING until every YES (COMMIT), a NO or the deadline (ABORT). */
  readonly state: TxnState;
  /** Sorted, unique. */
  readonly participants: readonly string[];
  /** The votes cast so far, by participant. */
  readonly votes: Readonly<Record<string, TxnVote>>;
  /** Absolute deadline (the serving member's clock at Begin + timeout): PREPARING past it aborts. */
  readonly deadlineUnixMs: number;
  /** Why it aborted ("deadline", "<p> voted NO: ...", or Abort's reason); empty otherwise. */
  readonly reason: string;
  /** The participants that acknowledged having applied the decision. */
  readonly acks: readonly string[];
  /** Begin's metadata: the payload participants prepare from. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The revision the decision was written at (0 while PREPARING). */
  readonly decidedAtRevision: number;
  /** When it began (the serving member's clock). */
  readonly beganUnixMs: number;
  /** When it was decided (0 while PREPARING). */
  readonly decidedUnixMs: number;
  /** When the last participant acknowledged (0 until then); retention counts from here. */
  readonly finishedUnixMs: number;
  /** The store revision the record was created at. */
  readonly createRevision: number;
  /** The store revision of its last change. */
  readonly modRevision: number;
}

/** A decision as the coordinator's Watch streams it. */
export interface TxnDecisionEvent {
  /** The revision the decision was written at. */
  readonly revision: number;
  /** The record as decided (its state is COMMIT or ABORT). */
  readonly record: TxnRecord;
}

const STATE_OF_NUMBER: Record<number, TxnState> = { 1: 'PREPARING', 2: 'COMMIT', 3: 'ABORT' };
/** cairn.v1.TxnState numbers. */
export const TXN_STATE_NUMBER: Readonly<Record<TxnState, number>> = { PREPARING: 1, COMMIT: 2, ABORT: 3 };
/** cairn.v1.TxnVote numbers. */
export const TXN_VOTE_NUMBER: Readonly<Record<TxnVote, number>> = { YES: 1, NO: 2 };

function malformed(what: string): ClientError {
  return new ClientError(
    ErrorCode.INTERNAL,
    `cairn client: malformed transaction record (${what})`,
    13,
    false,
  );
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A cairn.v1.TxnRecord read into a TxnRecord. */
export function recordFromWire(w: Wire): TxnRecord {
  if (typeof w !== 'object' || w === null) throw malformed('missing');
  const state = STATE_OF_NUMBER[Number(w.state)];
  if (!state) throw malformed(`state ${String(w.state)}`);
  const votes: Record<string, TxnVote> = {};
  for (const v of (Array.isArray(w.votes) ? w.votes : []) as Wire[]) {
    const n = Number(v?.vote);
    if (typeof v?.participant !== 'string' || (n !== 1 && n !== 2)) throw malformed('vote');
    votes[v.participant] = n === 1 ? 'YES' : 'NO';
  }
  const metadata: Record<string, string> = {};
  if (typeof w.metadata === 'object' && w.metadata !== null)
    for (const [k, x] of Object.entries(w.metadata)) if (typeof x === 'string') metadata[k] = x;
  return {
    txnId: String(w.txn_id ?? ''),
    state,
    participants: strings(w.participants),
    votes,
    deadlineUnixMs: Number(w.deadline_unix_ms ?? 0),
    reason: String(w.reason ?? ''),
    acks: strings(w.acks),
    metadata,
    decidedAtRevision: Number(w.decided_at_revision ?? 0),
    beganUnixMs: Number(w.began_unix_ms ?? 0),
    decidedUnixMs: Number(w.decided_unix_ms ?? 0),
    finishedUnixMs: Number(w.finished_unix_ms ?? 0),
    createRevision: Number(w.create_revision ?? 0),
    modRevision: Number(w.mod_revision ?? 0),
  };
}

/** Whether a record carries a decision. */
export function isDecided(record: TxnRecord): record is TxnRecord & { state: TxnDecision } {
  return record.state !== 'PREPARING';
}
