/**
 * The transaction coordinator: two-phase-commit decision records (txn-record.ts) kept as
 * ordinary keys through a CoordinationKv. Every change is read, computed by a pure rule, and
 * written with a Txn whose compare is the record's mod_revision as read; a lost race re-reads
 * and applies the rule again, so two concurrent changes (the last YES and the deadline abort)
 * can never both decide. Calls are idempotent by (txn id, participant): a repeat finds its
 * own effect and answers the record unchanged.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  CompareResult,
  CompareTarget,
  EventType,
  type KeyValue,
  type RangeResponse,
  type TxnResponse,
} from '../mvcc/index.js';
import type { CoordinationKv } from './ports.js';
import {
  type BeginInput,
  checkName,
  encodeRecord,
  isDecisionVersion,
  isFinished,
  newRecord,
  type StoredTxn,
  sameParticipants,
  storedFrom,
  type TxnRecord,
  type TxnState,
  type TxnVote,
  txnKey,
  txnRange,
  withAbort,
  withAck,
  withDeadline,
  withVote,
} from './txn-record.js';

/** A record and the store revision the answer reflects. */
export interface TxnResult {
  readonly txn: StoredTxn;
  readonly revision: number;
  /** Whether this call wrote the record (false: a repeat, or nothing to change). */
  readonly changed: boolean;
}

/** Which records List returns. */
export interface TxnFilter {
  /** Only these states (empty or absent: all). */
  readonly states?: readonly TxnState[];
  /** Only records this participant takes part in. */
  readonly participant?: string;
  /** With participant: only the records it has not acknowledged. */
  readonly unackedOnly?: boolean;
  /** At most this many (0 or absent: no limit). */
  readonly limit?: number;
}

/** Which decisions Watch streams. */
export interface DecisionFilter {
  readonly participant?: string;
  readonly txnId?: string;
}

/** A decision as Watch streams it: the record as decided, and the revision that decided it. */
export interface TxnDecision {
  readonly revision: number;
  readonly txn: StoredTxn;
}

/** Tuning of the coordinator. */
export interface TxnCoordinatorOptions {
  /** The wall clock, for deadlines and decision times (injected by tests). */
  readonly nowMs: () => number;
  /** How long a finished record (decided, acknowledged by all) is kept before the leader removes it. */
  readonly retentionMs: number;
  /** Compare-and-swap attempts on one record before answering TXN_CONTENDED. */
  readonly casAttemptsMax: number;
  /** Records read per range while scanning. */
  readonly scanPageSize: number;
  /** Deadline aborts and removals proposed at once by a scan. */
  readonly scanConcurrency: number;
}

const DEFAULTS: TxnCoordinatorOptions = {
  nowMs: () => Date.now(),
  retentionMs: 24 * 60 * 60 * 1000,
  casAttemptsMax: 64,
  scanPageSize: 500,
  scanConcurrency: 16,
};

function notFound(txnId: string): CairnError {
  return new CairnError(ErrorCode.TXN_NOT_FOUND, `cairn: transaction ${txnId} not found`);
}

function corrupt(txnId: string): CairnError {
  return new CairnError(
    ErrorCode.CORRUPT,
    `cairn: the record of transaction ${txnId} is not a transaction record`,
  );
}

function modRevisionIs(key: Uint8Array, modRevision: number) {
  return { key, target: CompareTarget.Mod, result: CompareResult.Equal, modRevision } as const;
}

function failureRange(resp: TxnResponse): RangeResponse {
  return (resp.responses[0] as { responseRange: RangeResponse }).responseRange;
}

function matches(txn: StoredTxn, f: TxnFilter): boolean {
  const r = txn.record;
  if (f.states && f.states.length > 0 && !f.states.includes(r.state)) return false;
  if (f.participant !== undefined && f.participant !== '') {
    if (!r.participants.includes(f.participant)) return false;
    if (f.unackedOnly && r.acks.includes(f.participant)) return false;
  }
  return true;
}

/** Runs fn over items with at most `concurrency` at once; resolves when all have settled. */
async function forEachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Two-phase-commit records over a CoordinationKv. */
export class TxnCoordinator {
  private readonly opts: TxnCoordinatorOptions;

  constructor(
    private readonly kv: CoordinationKv,
    opts: Partial<TxnCoordinatorOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /**
   * Creates the record in PREPARING. A repeat with the same participants answers the
   * existing record (created false); with other participants, TXN_PARTICIPANTS_MISMATCH.
   */
  async begin(input: BeginInput): Promise<TxnResult & { created: boolean }> {
    const record = newRecord(input, this.opts.nowMs());
    const key = txnKey(record.id);
    const resp = await this.kv.txn({
      compare: [{ key, target: CompareTarget.Create, result: CompareResult.Equal, createRevision: 0 }],
      success: [{ requestPut: { key, value: encodeRecord(record) } }],
      failure: [{ requestRange: { key } }],
    });
    const revision = resp.header.revision;
    if (resp.succeeded)
      return {
        txn: { record, createRevision: revision, modRevision: revision },
        revision,
        changed: true,
        created: true,
      };
    const existing = this.stored(record.id, failureRange(resp).kvs[0]);
    if (!sameParticipants(existing.record, input.participants))
      throw new CairnError(
        ErrorCode.TXN_PARTICIPANTS_MISMATCH,
        `cairn: transaction ${record.id} was begun with participants ${existing.record.participants.join(',')}`,
      );
    return { txn: existing, revision, changed: false, created: false };
  }

  /** Records a vote; decides when it is the last YES or a NO. Answers the record (its decision, once made). */
  vote(txnId: string, participant: string, vote: TxnVote, reason = ''): Promise<TxnResult> {
    checkName(participant, 'participant');
    return this.update(txnId, (t) => withVote(t.record, participant, vote, reason, this.opts.nowMs()));
  }

  /** Decides ABORT with reason (a no-op on an ABORT; TXN_ALREADY_DECIDED on a COMMIT). */
  abort(txnId: string, reason: string): Promise<TxnResult> {
    const why = reason === '' ? 'aborted' : reason;
    return this.update(txnId, (t) => withAbort(t.record, why, this.opts.nowMs()));
  }

  /** Records that participant applied the decision (TXN_NOT_DECIDED before there is one). */
  ack(txnId: string, participant: string): Promise<TxnResult> {
    checkName(participant, 'participant');
    return this.update(txnId, (t) => withAck(t.record, t.modRevision, participant, this.opts.nowMs()));
  }

  /** The record of a transaction (linearizable). */
  async get(txnId: string): Promise<TxnResult> {
    checkName(txnId, 'txn_id');
    const r = await this.kv.range({ key: txnKey(txnId) });
    return { txn: this.stored(txnId, r.kvs[0]), revision: r.header.revision, changed: false };
  }

  /**
   * The records that pass the filter, in txn id order, read page by page (each page
   * linearizable). A restarted participant lists {participant, unackedOnly} to find its
   * in-doubt transactions.
   */
  async list(filter: TxnFilter = {}): Promise<{ txns: StoredTxn[]; revision: number }> {
    const limit = filter.limit && filter.limit > 0 ? filter.limit : Number.POSITIVE_INFINITY;
    const txns: StoredTxn[] = [];
    let revision = 0;
    for await (const page of this.pages()) {
      revision = Math.max(revision, page.revision);
      for (const t of page.txns) {
        if (!matches(t, filter)) continue;
        txns.push(t);
        if (txns.length >= limit) return { txns, revision };
      }
    }
    return { txns, revision };
  }

  /**
   * Every decision at revisions >= fromRevision (0: from the next revision) that passes the
   * filter, in revision order, one per transaction. Ends when signal aborts; throws
   * COMPACTED when fromRevision was compacted away (list instead, then watch from there).
   */
  async *decisions(
    filter: DecisionFilter,
    fromRevision: number,
    signal: AbortSignal,
  ): AsyncGenerator<TxnDecision> {
    const range = filter.txnId ? { key: txnKey(filter.txnId) } : txnRange();
    for await (const batch of this.kv.watch(range, fromRevision, signal)) {
      for (const e of batch.events) {
        if (e.type !== EventType.Put) continue;
        const txn = storedFrom(e.kv);
        if (!txn || !isDecisionVersion(txn.record)) continue;
        if (filter.participant && !txn.record.participants.includes(filter.participant)) continue;
        yield { revision: batch.revision, txn };
      }
    }
  }

  /**
   * Proposes ABORT ("deadline") for every PREPARING record past its deadline; for the leader
   * only. Each goes through the same compare-guarded write as a vote, so a record a vote
   * decided meanwhile is left alone. Resolves with how many it aborted.
   */
  async abortExpired(): Promise<number> {
    const nowMs = this.opts.nowMs();
    const expired: string[] = [];
    for await (const page of this.pages())
      for (const t of page.txns) if (withDeadline(t.record, nowMs)) expired.push(t.record.id);
    let aborted = 0;
    await forEachLimited(expired, this.opts.scanConcurrency, async (id) => {
      try {
        if ((await this.update(id, (t) => withDeadline(t.record, nowMs))).changed) aborted++;
      } catch (err) {
        if (!(err instanceof CairnError && err.code === ErrorCode.TXN_NOT_FOUND)) throw err;
      }
    });
    return aborted;
  }

  /**
   * Removes the records finished (decided and acknowledged by all) longer than the retention
   * period ago; for the leader only. Each delete compares the mod_revision it read.
   */
  async removeFinished(): Promise<number> {
    const cutoffMs = this.opts.nowMs() - this.opts.retentionMs;
    const old: StoredTxn[] = [];
    for await (const page of this.pages())
      for (const t of page.txns) if (isFinished(t.record) && t.record.finishedUnixMs <= cutoffMs) old.push(t);
    let removed = 0;
    await forEachLimited(old, this.opts.scanConcurrency, async (t) => {
      const key = txnKey(t.record.id);
      const resp = await this.kv.txn({
        compare: [modRevisionIs(key, t.modRevision)],
        success: [{ requestDeleteRange: { key } }],
      });
      if (resp.succeeded) removed++;
    });
    return removed;
  }

  /** Every record, a page at a time, skipping values that are not records. */
  private async *pages(): AsyncGenerator<{ txns: StoredTxn[]; revision: number }> {
    const { key: first, rangeEnd } = txnRange();
    let key = first;
    for (;;) {
      const r = await this.kv.range({ key, rangeEnd, limit: this.opts.scanPageSize });
      const txns: StoredTxn[] = [];
      for (const kv of r.kvs) {
        const t = storedFrom(kv);
        if (t) txns.push(t);
      }
      yield { txns, revision: r.header.revision };
      const last = r.kvs[r.kvs.length - 1];
      if (!r.more || !last) return;
      key = new Uint8Array(last.key.byteLength + 1);
      key.set(last.key);
    }
  }

  private stored(txnId: string, kv: KeyValue | undefined): StoredTxn {
    if (!kv) throw notFound(txnId);
    const t = storedFrom(kv);
    if (!t) throw corrupt(txnId);
    return t;
  }

  /**
   * Read, apply rule, write if it changed, compare-guarded by the mod_revision read; on a
   * lost race the failure branch's read is the next attempt's input.
   */
  private async update(txnId: string, rule: (t: StoredTxn) => TxnRecord | undefined): Promise<TxnResult> {
    checkName(txnId, 'txn_id');
    const key = txnKey(txnId);
    let read = await this.kv.range({ key });
    let revision = read.header.revision;
    for (let attempt = 0; attempt < this.opts.casAttemptsMax; attempt++) {
      const current = this.stored(txnId, read.kvs[0]);
      const next = rule(current);
      if (!next) return { txn: current, revision, changed: false };
      const resp = await this.kv.txn({
        compare: [modRevisionIs(key, current.modRevision)],
        success: [{ requestPut: { key, value: encodeRecord(next) } }],
        failure: [{ requestRange: { key } }],
      });
      revision = resp.header.revision;
      if (resp.succeeded)
        return {
          txn: { record: next, createRevision: current.createRevision, modRevision: revision },
          revision,
          changed: true,
        };
      read = failureRange(resp);
    }
    throw new CairnError(ErrorCode.TXN_CONTENDED, `cairn: transaction ${txnId} changed under every attempt`);
  }
}
