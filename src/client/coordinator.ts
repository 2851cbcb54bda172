/**
 * `client.coordinator`: Cairn's two-phase-commit decision records (cairn.v1.CoordinatorService).
 * A coordinator begins a transaction with its participants and a deadline; each participant
 * votes YES or NO; the record decides COMMIT when every participant voted YES, and ABORT on
 * any NO, on an explicit abort, or when the deadline passes first. Participants then apply
 * the decision and acknowledge it. Every call is idempotent by (txn id, participant) on the
 * server, so the SDK retries them even when a failure leaves the outcome unknown.
 * The participant side (prepare, vote, await, apply, ack, recovery) is in participant.ts.
 */
import { ErrorCode } from '../common/errors.js';
import type { Connection, Wire } from './connection.js';
import {
  isDecided,
  recordFromWire,
  TXN_STATE_NUMBER,
  TXN_VOTE_NUMBER,
  type TxnRecord,
  type TxnState,
  type TxnVote,
} from './coordinator-types.js';
import { DecisionWatch, type DecisionWatchOptions } from './coordinator-watch.js';
import { isClientError } from './errors.js';
import { Participant, type ParticipantHandlers, type ParticipantOptions } from './participant.js';

/** Options of begin(). */
export interface BeginOptions {
  /** How long the participants have to vote; past it the transaction aborts ("deadline"). */
  timeoutMs: number;
  /** The payload participants prepare from (Begin's metadata; at most 16 KiB in all). */
  metadata?: Readonly<Record<string, string>>;
  /** Overall deadline of the call, retries included. */
  deadlineMs?: number;
  /** Aborts the call (it fails with CANCELLED). */
  signal?: AbortSignal;
}

/** What begin() answers. */
export interface BeginResult {
  /** The record as begin() left it (or found it). */
  readonly record: TxnRecord;
  /** False when the record already existed (a retried begin with the same participants). */
  readonly created: boolean;
  /** The store revision the answer reflects. */
  readonly revision: number;
}

/** Options of the coordinator's unary calls. */
export interface CoordinatorCallOptions {
  /** Overall deadline of the call, retries included. */
  deadlineMs?: number;
  /** Aborts the call (it fails with CANCELLED). */
  signal?: AbortSignal;
}

/** Which records list() returns. */
export interface ListOptions extends CoordinatorCallOptions {
  /** Only records in one of these states (default: all). */
  states?: readonly TxnState[];
  /** Only records this participant takes part in. */
  participant?: string;
  /** With participant: only those it has not acknowledged (its in-doubt transactions). */
  unackedOnly?: boolean;
  /** At most this many (default: no limit). */
  limit?: number;
}

/** What list() answers. */
export interface ListResult {
  /** In txn id order. */
  readonly records: TxnRecord[];
  /** The store revision the answer reflects. */
  readonly revision: number;
}

/** Options of awaitDecision(). */
export interface AwaitDecisionOptions {
  /** Stops waiting (the promise rejects with CANCELLED). */
  signal?: AbortSignal;
  /** Called with the decision stream once it is opened (to observe readiness and reconnects). */
  onWatch?: (watch: DecisionWatch) => void;
}

/** How often awaitDecision() starts over (Get, then Watch) after its resume point was compacted. */
const COMPACTED_RESTARTS_MAX = 3;

/** The coordinator API of a Client: begin, vote, abort, ack, get, list, watch, and participants. */
export class Coordinator {
  private readonly watches = new Set<DecisionWatch>();

  constructor(private readonly connection: Connection) {}

  /** Begins a transaction in PREPARING; a repeat with the same participants answers the existing record. */
  async begin(txnId: string, participants: readonly string[], options: BeginOptions): Promise<BeginResult> {
    const r = await this.call(
      'Begin',
      { txn_id: txnId, participants, timeout_ms: options.timeoutMs, metadata: options.metadata ?? {} },
      options,
    );
    return { record: recordFromWire(r.record), created: r.created === true, revision: revisionOf(r) };
  }

  /**
   * Records participant's vote and answers the record (decided once this was the last YES, or
   * a NO). The same vote again is a no-op; a different one fails with TXN_VOTE_CHANGED.
   */
  async vote(
    txnId: string,
    participant: string,
    vote: TxnVote,
    options: CoordinatorCallOptions & { reason?: string } = {},
  ): Promise<TxnRecord> {
    const r = await this.call(
      'Vote',
      { txn_id: txnId, participant, vote: TXN_VOTE_NUMBER[vote], reason: options.reason ?? '' },
      options,
    );
    return recordFromWire(r.record);
  }

  /** Decides ABORT (a no-op on an aborted record; TXN_ALREADY_DECIDED on a committed one). */
  async abort(txnId: string, reason = '', options: CoordinatorCallOptions = {}): Promise<TxnRecord> {
    const r = await this.call('Abort', { txn_id: txnId, reason }, options);
    return recordFromWire(r.record);
  }

  /** Records that participant applied the decision (TXN_NOT_DECIDED before there is one). */
  async ack(txnId: string, participant: string, options: CoordinatorCallOptions = {}): Promise<TxnRecord> {
    const r = await this.call('Ack', { txn_id: txnId, participant }, options);
    return recordFromWire(r.record);
  }

  /** The record of a transaction (linearizable); TXN_NOT_FOUND once retention removed it. */
  async get(txnId: string, options: CoordinatorCallOptions = {}): Promise<TxnRecord> {
    return (await this.read(txnId, options)).record;
  }

  /** The record and the store revision it was read at. */
  private async read(
    txnId: string,
    options: CoordinatorCallOptions,
  ): Promise<{ record: TxnRecord; revision: number }> {
    const r = await this.call('Get', { txn_id: txnId }, options, false);
    return { record: recordFromWire(r.record), revision: revisionOf(r) };
  }

  /** The records that pass the filter, in txn id order. */
  async list(options: ListOptions = {}): Promise<ListResult> {
    const r = await this.call(
      'List',
      {
        states: (options.states ?? []).map((s) => TXN_STATE_NUMBER[s]),
        participant: options.participant ?? '',
        unacked_only: options.unackedOnly ?? false,
        limit: options.limit ?? 0,
      },
      options,
      false,
    );
    return { records: ((r.records ?? []) as Wire[]).map(recordFromWire), revision: revisionOf(r) };
  }

  /** Streams decisions (COMMIT/ABORT) as they are written, resuming across reconnects; close() it when done. */
  watch(options: DecisionWatchOptions = {}): DecisionWatch {
    const watch = new DecisionWatch(this.connection, options);
    this.watches.add(watch);
    watch.onClosed(() => this.watches.delete(watch));
    return watch;
  }

  /**
   * Resolves with the record once it is decided. Reads it first; if still PREPARING, watches
   * that one transaction from the revision after the read, so a decision written in between
   * is never missed. No polling: one stream, resumed across member failures; if its resume
   * point is compacted away it starts over with a fresh read.
   */
  async awaitDecision(txnId: string, options: AwaitDecisionOptions = {}): Promise<TxnRecord> {
    const { signal } = options;
    for (let restart = 0; ; restart++) {
      const current = await this.read(txnId, signal ? { signal } : {});
      if (isDecided(current.record)) return current.record;
      if (signal?.aborted) throw this.connection.cancelled();
      const watch = this.watch({ txnId, fromRevision: current.revision + 1, bufferedDecisionsMax: 8 });
      const onAbort = (): void => watch.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        options.onWatch?.(watch);
        for await (const d of watch) if (d.record.txnId === txnId && isDecided(d.record)) return d.record;
        throw this.connection.cancelled(
          signal?.aborted ? 'cairn client: call cancelled' : 'cairn client: decision watch closed',
        );
      } catch (err) {
        if (isClientError(err, ErrorCode.COMPACTED) && restart < COMPACTED_RESTARTS_MAX) continue;
        throw err;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        watch.close();
      }
    }
  }

  /** A participant named `name` whose callbacks prepare, commit and abort this process's part of a transaction. */
  participant(name: string, handlers: ParticipantHandlers, options: ParticipantOptions = {}): Participant {
    return new Participant(this, name, handlers, options);
  }

  /** Closes every open decision stream (Client.close calls it). */
  close(): void {
    for (const w of [...this.watches]) w.close();
    this.watches.clear();
  }

  /** A unary call; every coordinator method is idempotent, so unknown outcomes are retried too. */
  private call(method: string, request: Wire, options: CoordinatorCallOptions, leader = true): Promise<Wire> {
    return this.connection.unary('CoordinatorService', method, request, {
      idempotent: true,
      leader,
      ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
}

function revisionOf(r: Wire): number {
  return Number(r?.header?.revision ?? 0);
}
