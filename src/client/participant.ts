/**
 * The participant side of Cairn's two-phase commit: `client.coordinator.participant(name,
 * { prepare, commit, abort })`. run(txnId) drives one transaction through prepare -> vote
 * -> await the decision -> commit or abort -> ack; recover() finds, at start-up, every
 * transaction this participant has not acknowledged and drives each to the same end.
 *
 * The contract with the callbacks (what makes a crash at any point safe):
 * - prepare must make its part durable before it answers YES: after a YES the participant
 *   must be able to commit even if the process dies and restarts. Answering NO (or throwing,
 *   which votes NO with the error's message as the reason) aborts the transaction.
 * - commit and abort must be idempotent: a crash between a callback and its ack means
 *   recovery (or run again) calls it again. abort may also be called for a transaction this
 *   participant never prepared (it aborted first, on another NO or the deadline, or the
 *   process died between prepare and vote) and must then do nothing.
 * - prepare may also run twice for one transaction, when the process dies after it but before
 *   the vote reached the coordinator; once a vote is recorded it is never asked again.
 * The coordinator's calls are idempotent by (txn id, participant): the same vote or ack again
 * is a no-op, so every step is retried safely; a vote that differs from the recorded one
 * fails with TXN_VOTE_CHANGED.
 */
import { ErrorCode } from '../common/errors.js';
import {
  isDecided,
  type TxnDecision,
  type TxnDecisionEvent,
  type TxnRecord,
  type TxnVote,
} from './coordinator-types.js';
import type { DecisionWatch, DecisionWatchOptions } from './coordinator-watch.js';
import { ClientError, isClientError } from './errors.js';

/** What prepare answers: a vote, optionally with the reason a NO records. */
export type PrepareOutcome = TxnVote | { vote: TxnVote; reason?: string };

/** The participant's part of a transaction; see the file comment for the idempotence contract. */
export interface ParticipantHandlers {
  /** Prepares this participant's part durably from Begin's metadata; YES, NO, or throws (NO). */
  prepare(
    txnId: string,
    payload: Readonly<Record<string, string>>,
    record: TxnRecord,
  ): PrepareOutcome | Promise<PrepareOutcome>;
  /** Applies the committed transaction (idempotent). */
  commit(txnId: string, record: TxnRecord): void | Promise<void>;
  /** Undoes whatever prepare did, if anything (idempotent). */
  abort(txnId: string, record: TxnRecord): void | Promise<void>;
}

/** Tuning of a participant. */
export interface ParticipantOptions {
  /** Transactions recover() applies at once (default 16). */
  recoveryConcurrency?: number;
}

/** How one transaction ended for this participant. */
export interface RunResult {
  /** The transaction. */
  readonly txnId: string;
  /** How it was decided: COMMIT or ABORT. */
  readonly decision: TxnDecision;
  /** This participant's recorded vote (undefined when it aborted before this participant voted). */
  readonly vote: TxnVote | undefined;
  /** Whether this call ran the commit or abort callback (false: it had been acknowledged before). */
  readonly applied: boolean;
  /** The record after this participant's ack. */
  readonly record: TxnRecord;
}

/** What recover() did. */
export interface RecoveryResult {
  /** The in-doubt transactions it applied and acknowledged. */
  readonly completed: RunResult[];
  /** Transactions still PREPARING that this participant has not voted in: left to run() (or the deadline). */
  readonly notVoted: string[];
  /** Transactions whose callback or ack failed; recover() again retries them. */
  readonly failed: { txnId: string; error: unknown }[];
}

/** The coordinator calls a participant makes (the Coordinator class provides them). */
export interface ParticipantCoordinator {
  /** Reads a transaction's record. */
  get(txnId: string, options?: { signal?: AbortSignal }): Promise<TxnRecord>;
  /** Casts this participant's vote. */
  vote(
    txnId: string,
    participant: string,
    vote: TxnVote,
    options?: { signal?: AbortSignal; reason?: string },
  ): Promise<TxnRecord>;
  /** Acknowledges that this participant applied the decision. */
  ack(txnId: string, participant: string, options?: { signal?: AbortSignal }): Promise<TxnRecord>;
  /** Lists the records a participant takes part in (unacknowledged ones only, for recovery). */
  list(options: {
    participant: string;
    unackedOnly: boolean;
    signal?: AbortSignal;
  }): Promise<{ records: TxnRecord[]; revision: number }>;
  /** Follows decisions as they are made. */
  watch(options: DecisionWatchOptions): DecisionWatch;
  /** Waits until a transaction is decided. */
  awaitDecision(
    txnId: string,
    options?: { signal?: AbortSignal; onWatch?: (w: DecisionWatch) => void },
  ): Promise<TxnRecord>;
}

/** Options of the participant's calls. */
export interface ParticipantCallOptions {
  /** Stops waiting; the call rejects with CANCELLED. */
  signal?: AbortSignal;
}

/** How often recover() starts over after its decision stream's resume point was compacted. */
const RECOVERY_RESTARTS_MAX = 3;

function sig(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** One participant of two-phase-commit transactions, with its callbacks. */
export class Participant {
  /** Invariant: at most one drive per transaction at a time in this process; repeats share it. */
  private readonly inFlight = new Map<string, Promise<RunResult>>();
  private readonly recoveryConcurrency: number;

  constructor(
    private readonly coordinator: ParticipantCoordinator,
    /** The participant's name, as listed in Begin. */
    readonly name: string,
    private readonly handlers: ParticipantHandlers,
    options: ParticipantOptions = {},
  ) {
    this.recoveryConcurrency = Math.max(1, options.recoveryConcurrency ?? 16);
  }

  /** Casts this participant's vote; the same vote again is a no-op, a different one TXN_VOTE_CHANGED. */
  vote(
    txnId: string,
    vote: TxnVote,
    options: ParticipantCallOptions & { reason?: string } = {},
  ): Promise<TxnRecord> {
    return this.coordinator.vote(txnId, this.name, vote, options);
  }

  /** Resolves with the record once it is decided (COMMIT or ABORT), watching rather than polling. */
  awaitDecision(
    txnId: string,
    options: ParticipantCallOptions & { onWatch?: (w: DecisionWatch) => void } = {},
  ): Promise<TxnRecord> {
    return this.coordinator.awaitDecision(txnId, options);
  }

  /** Acknowledges that this participant applied the decision (idempotent). */
  ack(txnId: string, options: ParticipantCallOptions = {}): Promise<TxnRecord> {
    return this.coordinator.ack(txnId, this.name, options);
  }

  /**
   * Drives one transaction: prepare and vote (unless a vote is recorded already or it is
   * decided), await the decision, run commit or abort, ack. Safe to call again after a crash
   * at any point; a call for a transaction already acknowledged answers without callbacks.
   */
  run(txnId: string, options: ParticipantCallOptions = {}): Promise<RunResult> {
    return this.once(txnId, () => this.drive(txnId, options.signal));
  }

  /**
   * Start-up recovery: lists the transactions this participant has not acknowledged; applies
   * and acknowledges the decided ones, and waits (on one decision stream) for those still
   * PREPARING that it voted in, applying each as it is decided. PREPARING ones it never voted
   * in are returned in notVoted. Resolves when everything found is applied (or failed).
   */
  async recover(options: ParticipantCallOptions = {}): Promise<RecoveryResult> {
    const signal = options.signal;
    const completed: RunResult[] = [];
    const failed: { txnId: string; error: unknown }[] = [];
    const pool = new Pool(this.recoveryConcurrency);
    const apply = (record: TxnRecord): Promise<void> =>
      pool.run(async () => {
        try {
          completed.push(await this.once(record.txnId, () => this.finish(record, signal)));
        } catch (error) {
          failed.push({ txnId: record.txnId, error });
        }
      });
    let notVoted: string[] = [];
    for (let restart = 0; ; restart++) {
      const { records, revision } = await this.coordinator.list({
        participant: this.name,
        unackedOnly: true,
        ...sig(signal),
      });
      const waiting = new Map<string, TxnRecord>();
      notVoted = [];
      for (const r of records) {
        if (isDecided(r)) await apply(r);
        else if (r.votes[this.name] !== undefined) waiting.set(r.txnId, r);
        else notVoted.push(r.txnId);
      }
      try {
        await this.applyAsDecided(waiting, revision + 1, apply, signal);
        break;
      } catch (err) {
        if (!isClientError(err, ErrorCode.COMPACTED) || restart >= RECOVERY_RESTARTS_MAX) {
          await pool.idle();
          throw err;
        }
      }
    }
    await pool.idle();
    return { completed, notVoted, failed };
  }

  /**
   * Waits for the decisions of `waiting` on one stream of this participant's decisions from
   * fromRevision (just after the list). The list read its pages at revisions up to that one,
   * so each waiting record is also read again once: a decision between its page and the
   * stream's start shows there.
   */
  private async applyAsDecided(
    waiting: Map<string, TxnRecord>,
    fromRevision: number,
    apply: (record: TxnRecord) => Promise<void>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (waiting.size === 0) return;
    const watch = this.coordinator.watch({ participant: this.name, fromRevision });
    const onAbort = (): void => watch.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (const txnId of [...waiting.keys()]) {
        const now = await this.coordinator.get(txnId, sig(signal));
        if (isDecided(now) && waiting.delete(txnId)) await apply(now);
      }
      if (waiting.size === 0) return;
      for await (const d of watch as AsyncIterable<TxnDecisionEvent>) {
        if (!waiting.delete(d.record.txnId)) continue;
        await apply(d.record);
        if (waiting.size === 0) return;
      }
      throw new ClientError(ErrorCode.CANCELLED, 'cairn client: recovery stopped', 1, false);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      watch.close();
    }
  }

  private once(txnId: string, fn: () => Promise<RunResult>): Promise<RunResult> {
    const running = this.inFlight.get(txnId);
    if (running) return running;
    const p = fn().finally(() => this.inFlight.delete(txnId));
    this.inFlight.set(txnId, p);
    return p;
  }

  private async drive(txnId: string, signal: AbortSignal | undefined): Promise<RunResult> {
    let record = await this.coordinator.get(txnId, sig(signal));
    if (!record.participants.includes(this.name))
      throw new ClientError(
        ErrorCode.TXN_NOT_PARTICIPANT,
        `cairn client: ${this.name} is not a participant of transaction ${txnId}`,
        9,
        false,
      );
    if (record.acks.includes(this.name)) return this.result(record, false);
    if (record.state === 'PREPARING' && record.votes[this.name] === undefined) {
      const { vote, reason } = await this.prepare(txnId, record);
      record = await this.coordinator.vote(txnId, this.name, vote, { reason, ...sig(signal) });
    }
    if (!isDecided(record)) record = await this.coordinator.awaitDecision(txnId, sig(signal));
    return this.finish(record, signal);
  }

  /** Runs prepare; a throw is a NO whose reason is the error's message. */
  private async prepare(txnId: string, record: TxnRecord): Promise<{ vote: TxnVote; reason: string }> {
    try {
      const outcome = await this.handlers.prepare(txnId, record.metadata, record);
      if (outcome === 'YES' || outcome === 'NO') return { vote: outcome, reason: '' };
      if (outcome.vote !== 'YES' && outcome.vote !== 'NO')
        throw new TypeError(`prepare answered ${String(outcome.vote)}, not YES or NO`);
      return { vote: outcome.vote, reason: outcome.reason ?? '' };
    } catch (err) {
      return { vote: 'NO', reason: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Applies a decided record's decision with the callback, then acks. */
  private async finish(record: TxnRecord, signal: AbortSignal | undefined): Promise<RunResult> {
    if (!isDecided(record))
      throw new ClientError(
        ErrorCode.TXN_NOT_DECIDED,
        `cairn client: transaction ${record.txnId} is not decided yet`,
        9,
        false,
      );
    if (record.state === 'COMMIT') await this.handlers.commit(record.txnId, record);
    else await this.handlers.abort(record.txnId, record);
    const acked = await this.coordinator.ack(record.txnId, this.name, sig(signal));
    return { ...this.result(acked, true), decision: record.state };
  }

  private result(record: TxnRecord, applied: boolean): RunResult {
    return {
      txnId: record.txnId,
      decision: record.state === 'COMMIT' ? 'COMMIT' : 'ABORT',
      vote: record.votes[this.name],
      applied,
      record,
    };
  }
}

/** Runs tasks with at most `concurrency` at once; run() waits for a free slot. */
class Pool {
  private active = 0;
  private readonly running = new Set<Promise<void>>();
  private readonly slotWaiters: (() => void)[] = [];

  constructor(private readonly concurrency: number) {}

  /** Starts fn once a slot is free; resolves when it has started. */
  async run(fn: () => Promise<void>): Promise<void> {
    while (this.active >= this.concurrency) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.active++;
    const p: Promise<void> = fn().finally(() => {
      this.active--;
      this.running.delete(p);
      this.slotWaiters.shift()?.();
    });
    this.running.add(p);
  }

  /** Resolves when every started task has settled. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
