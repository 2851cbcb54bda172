/**
 * cairn.v1.CoordinatorService over the transaction coordinator: Begin, Vote, Abort, Ack,
 * Get and List answer records; Watch streams decisions (first a "created" message whose
 * revision a client resumes after, then one message per decision, at its revision). A
 * cancelled Watch closes its store watch.
 */
import type * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { CoordinationKv } from '../coordination/ports.js';
import type { TxnCoordinator } from '../coordination/txn-coordinator.js';
import {
  checkName,
  decisionRevision,
  type StoredTxn,
  type TxnState,
  type TxnVote,
  txnRange,
} from '../coordination/txn-record.js';
import { cancellableUnary, drained, type HeaderAt, type UnaryHandler, wireInt } from './coordination-wire.js';
import { toGrpcError } from './errors.js';

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
type Wire = any;

/** cairn.v1.TxnState numbers. */
const STATE_NUMBER: Record<TxnState, number> = { PREPARING: 1, COMMIT: 2, ABORT: 3 };
const STATE_OF_NUMBER: Record<number, TxnState> = { 1: 'PREPARING', 2: 'COMMIT', 3: 'ABORT' };
/** cairn.v1.TxnVote numbers. */
const VOTE_NUMBER: Record<TxnVote, number> = { YES: 1, NO: 2 };

function invalid(message: string): CairnError {
  return new CairnError(ErrorCode.INVALID_ARGUMENT, `cairn: ${message}`);
}

function wireString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function voteFromWire(v: unknown): TxnVote {
  if (v === 1) return 'YES';
  if (v === 2) return 'NO';
  throw invalid('vote must be TXN_VOTE_YES or TXN_VOTE_NO');
}

function metadataFromWire(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** A stored record as cairn.v1.TxnRecord. */
export function recordToWire(txn: StoredTxn): Wire {
  const r = txn.record;
  return {
    txn_id: r.id,
    state: STATE_NUMBER[r.state],
    participants: r.participants,
    votes: Object.entries(r.votes).map(([participant, vote]) => ({ participant, vote: VOTE_NUMBER[vote] })),
    deadline_unix_ms: r.deadlineUnixMs,
    reason: r.reason,
    acks: r.acks,
    metadata: r.metadata,
    decided_at_revision: decisionRevision(txn),
    began_unix_ms: r.beganUnixMs,
    decided_unix_ms: r.decidedUnixMs,
    finished_unix_ms: r.finishedUnixMs,
    create_revision: txn.createRevision,
    mod_revision: txn.modRevision,
  };
}

/** The handlers of cairn.v1.CoordinatorService. */
export function coordinatorHandlers(
  coordinator: TxnCoordinator,
  kv: CoordinationKv,
  headerAt: HeaderAt,
): Record<string, UnaryHandler | ((call: grpc.ServerWritableStream<unknown, unknown>) => void)> {
  return {
    Begin: cancellableUnary(async (w: Wire) => {
      const r = await coordinator.begin({
        txnId: wireString(w.txn_id),
        participants: Array.isArray(w.participants) ? w.participants.map(wireString) : [],
        timeoutMs: wireInt(w.timeout_ms, 'timeout_ms'),
        metadata: metadataFromWire(w.metadata),
      });
      return { header: headerAt(r.revision), record: recordToWire(r.txn), created: r.created };
    }),
    Vote: cancellableUnary(async (w: Wire) => {
      const r = await coordinator.vote(
        wireString(w.txn_id),
        wireString(w.participant),
        voteFromWire(w.vote),
        wireString(w.reason),
      );
      return { header: headerAt(r.revision), record: recordToWire(r.txn) };
    }),
    Abort: cancellableUnary(async (w: Wire) => {
      const r = await coordinator.abort(wireString(w.txn_id), wireString(w.reason));
      return { header: headerAt(r.revision), record: recordToWire(r.txn) };
    }),
    Ack: cancellableUnary(async (w: Wire) => {
      const r = await coordinator.ack(wireString(w.txn_id), wireString(w.participant));
      return { header: headerAt(r.revision), record: recordToWire(r.txn) };
    }),
    Get: cancellableUnary(async (w: Wire) => {
      const r = await coordinator.get(wireString(w.txn_id));
      return { header: headerAt(r.revision), record: recordToWire(r.txn) };
    }),
    List: cancellableUnary(async (w: Wire) => {
      const states: TxnState[] = [];
      for (const n of Array.isArray(w.states) ? w.states : []) {
        const s = STATE_OF_NUMBER[n as number];
        if (!s) throw invalid(`unknown state ${String(n)}`);
        states.push(s);
      }
      const participant = wireString(w.participant);
      const unackedOnly = w.unacked_only === true;
      if (unackedOnly && participant === '') throw invalid('unacked_only needs a participant');
      const r = await coordinator.list({
        states,
        participant,
        unackedOnly,
        limit: wireInt(w.limit, 'limit'),
      });
      return { header: headerAt(r.revision), records: r.txns.map(recordToWire) };
    }),
    Watch(call: grpc.ServerWritableStream<unknown, unknown>): void {
      const controller = new AbortController();
      const onCancel = (): void => controller.abort();
      call.on('cancelled', onCancel);
      const signal = controller.signal;
      const stream = async (): Promise<void> => {
        const w = call.request as Wire;
        const participant = wireString(w.participant);
        const txnId = wireString(w.txn_id);
        if (participant !== '') checkName(participant, 'participant');
        if (txnId !== '') checkName(txnId, 'txn_id');
        let from = wireInt(w.from_revision, 'from_revision');
        if (from < 0) throw invalid('from_revision is negative');
        if (from === 0) from = (await kv.range({ ...txnRange(), countOnly: true })).header.revision + 1;
        call.write({ header: headerAt(from - 1), created: true });
        const filter = { ...(participant ? { participant } : {}), ...(txnId ? { txnId } : {}) };
        for await (const d of coordinator.decisions(filter, from, signal)) {
          const more = call.write({
            header: headerAt(d.revision),
            created: false,
            record: recordToWire(d.txn),
          });
          if (!more) await drained(call, signal);
          if (signal.aborted) return;
        }
      };
      stream()
        .then(
          () => {
            if (!signal.aborted) call.end();
          },
          (err: unknown) => {
            if (!signal.aborted) call.emit('error', toGrpcError(err));
          },
        )
        .finally(() => {
          call.removeListener('cancelled', onCancel);
          controller.abort();
        });
    },
  };
}
