/**
 * The transaction-atomicity checker for two-phase-commit records: from every record the
 * workload saw during the run (answers to vote, ack, get, awaited and watched decisions) and
 * a re-read of every record at the end, it checks that each transaction is decided at most
 * once and its decision never changes; that COMMIT happens only when every participant voted
 * YES (never after an acknowledged NO or an acknowledged abort); that every acknowledged vote
 * and ack is in the final record; and that participants applied the decision the record holds.
 */
import { type CheckerReport, reportOf } from './report.js';

/** A transaction record as seen at one moment. */
export interface TxnSnapshot {
  readonly txnId: string;
  readonly state: 'PREPARING' | 'COMMIT' | 'ABORT';
  readonly participants: readonly string[];
  readonly votes: Readonly<Record<string, 'YES' | 'NO'>>;
  readonly acks: readonly string[];
  readonly decidedAtRevision: number;
}

/** A snapshot and who saw it when. */
export interface TxnObservation extends TxnSnapshot {
  readonly source: string;
  readonly atMs: number;
}

/** What the transaction workload recorded. */
export interface TxnHistory {
  /** Transactions whose Begin was acknowledged. */
  readonly begun: readonly string[];
  /** Votes whose call answered with a record holding them. */
  readonly ackedVotes: readonly { txnId: string; participant: string; vote: 'YES' | 'NO' }[];
  /** Acks whose call answered. */
  readonly ackedAcks: readonly { txnId: string; participant: string }[];
  /** Explicit aborts that answered: 'aborted', or refused because the record was committed. */
  readonly aborts: readonly { txnId: string; outcome: 'aborted' | 'already-committed' }[];
  /** Commit/abort callbacks the participants ran. */
  readonly applied: readonly { txnId: string; participant: string; decision: 'COMMIT' | 'ABORT' }[];
  readonly observations: readonly TxnObservation[];
  /** Every record, read again after the faults. */
  readonly final: readonly TxnSnapshot[];
}

/** The verdict. */
export type AtomicityReport = CheckerReport;

/** Checks a transaction history. */
export function checkAtomicity(h: TxnHistory): AtomicityReport {
  const violations: string[] = [];
  const final = new Map(h.final.map((r) => [r.txnId, r]));
  const firstDecision = new Map<string, TxnObservation>();
  const notAllYes = (r: TxnSnapshot): string | undefined => r.participants.find((p) => r.votes[p] !== 'YES');

  for (const o of h.observations) {
    if (o.state === 'COMMIT') {
      const p = notAllYes(o);
      if (p !== undefined)
        violations.push(
          `${o.txnId} seen COMMIT by ${o.source} at ${o.atMs.toFixed(0)} ms although ${p} voted ${o.votes[p] ?? 'nothing'}`,
        );
    }
    if (o.state === 'PREPARING') continue;
    const first = firstDecision.get(o.txnId);
    if (!first) firstDecision.set(o.txnId, o);
    else if (first.state !== o.state || first.decidedAtRevision !== o.decidedAtRevision)
      violations.push(
        `${o.txnId} decided twice: ${first.state}@${first.decidedAtRevision} (seen by ${first.source} at ${first.atMs.toFixed(0)} ms) and ${o.state}@${o.decidedAtRevision} (seen by ${o.source} at ${o.atMs.toFixed(0)} ms)`,
      );
  }
  for (const id of h.begun) if (!final.has(id)) violations.push(`${id} was begun but its record is gone`);
  for (const [id, first] of firstDecision) {
    const f = final.get(id);
    if (!f) {
      if (!h.begun.includes(id)) violations.push(`${id} decided ${first.state} but its record is gone`);
      continue;
    }
    if (f.state !== first.state || f.decidedAtRevision !== first.decidedAtRevision)
      violations.push(
        `${id} changed after its decision: ${first.state}@${first.decidedAtRevision} seen by ${first.source} at ${first.atMs.toFixed(0)} ms, ${f.state}@${f.decidedAtRevision} at the end`,
      );
  }
  for (const f of h.final) {
    if (f.state === 'COMMIT') {
      const p = notAllYes(f);
      if (p !== undefined)
        violations.push(`${f.txnId} is COMMIT at the end although ${p} voted ${f.votes[p] ?? 'nothing'}`);
    }
  }
  for (const v of h.ackedVotes) {
    const f = final.get(v.txnId);
    if (f?.votes[v.participant] !== v.vote)
      violations.push(
        `acknowledged vote lost: ${v.participant} voted ${v.vote} in ${v.txnId}, the final record has ${f ? (f.votes[v.participant] ?? 'no vote') : 'no record'}`,
      );
    if (v.vote === 'NO' && f?.state === 'COMMIT')
      violations.push(`${v.txnId} committed after ${v.participant}'s acknowledged NO`);
  }
  for (const a of h.ackedAcks) {
    const f = final.get(a.txnId);
    if (!f?.acks.includes(a.participant))
      violations.push(`acknowledged ack lost: ${a.participant} acked ${a.txnId}, the final record lacks it`);
  }
  for (const a of h.aborts) {
    const state = final.get(a.txnId)?.state;
    const want = a.outcome === 'aborted' ? 'ABORT' : 'COMMIT';
    if (state !== want)
      violations.push(`${a.txnId}: an abort answered ${a.outcome}, the final record is ${state ?? 'gone'}`);
  }
  for (const a of h.applied) {
    const state = final.get(a.txnId)?.state;
    if (state !== a.decision)
      violations.push(
        `${a.participant} applied ${a.decision} to ${a.txnId}, but the record is ${state ?? 'gone'} at the end`,
      );
  }
  const decided = h.final.filter((f) => f.state !== 'PREPARING');
  const commits = decided.filter((f) => f.state === 'COMMIT').length;
  const summary =
    `${h.begun.length} txns (${commits} commit, ${decided.length - commits} abort, ${h.final.length - decided.length} undecided), ` +
    `${h.ackedVotes.length} votes and ${h.ackedAcks.length} acks acknowledged, ${h.observations.length} observations`;
  return reportOf(violations, summary);
}
