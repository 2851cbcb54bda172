/**
 * `txn-records list | get | watch`: the coordinator's two-phase-commit decision records through
 * the SDK (client.coordinator). get exits 3 for an unknown transaction (TXN_NOT_FOUND); watch
 * prints each decision (COMMIT/ABORT) as it is written.
 */
import type { TxnRecord, TxnState } from '../../client/coordinator-types.js';
import { bool, parseCount, str } from '../args.js';
import { aborted, type Command } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { Json, Output, Style } from '../output.js';

const STATES: readonly TxnState[] = ['PREPARING', 'COMMIT', 'ABORT'];
const STATE_STYLE: Record<TxnState, Style> = { PREPARING: 'yellow', COMMIT: 'green', ABORT: 'red' };

/** A record as cairnctl's JSON prints it. */
function recordJson(r: TxnRecord): Json {
  return {
    txn_id: r.txnId,
    state: r.state,
    participants: [...r.participants],
    votes: { ...r.votes },
    acks: [...r.acks],
    reason: r.reason,
    metadata: { ...r.metadata },
    deadline_unix_ms: r.deadlineUnixMs,
    began_unix_ms: r.beganUnixMs,
    decided_unix_ms: r.decidedUnixMs,
    finished_unix_ms: r.finishedUnixMs,
    decided_at_revision: r.decidedAtRevision,
    create_revision: r.createRevision,
    mod_revision: r.modRevision,
  };
}

function votesText(r: TxnRecord): string {
  return r.participants.map((p) => `${p}=${r.votes[p] ?? '?'}`).join(',');
}

function time(ms: number): string {
  return ms === 0 ? '-' : new Date(ms).toISOString();
}

function parseStates(text: string | undefined): TxnState[] {
  if (text === undefined) return [];
  return text.split(',').map((s) => {
    const state = s.trim().toUpperCase() as TxnState;
    if (!STATES.includes(state)) throw new UsageError(`--state: "${s}" is not one of ${STATES.join(', ')}`);
    return state;
  });
}

function recordRow(out: Output, r: TxnRecord): string[] {
  return [
    r.txnId,
    out.style(STATE_STYLE[r.state], r.state),
    votesText(r),
    r.acks.join(',') || '-',
    r.state === 'PREPARING' ? `deadline ${time(r.deadlineUnixMs)}` : r.reason || '-',
  ];
}

const HEADERS = ['TXN_ID', 'STATE', 'VOTES', 'ACKS', 'REASON/DEADLINE'];

/** `txn-records list [--participant P] [--state S,...] [--unacked] [--limit N]`. */
export const txnRecordsList: Command = {
  name: 'txn-records list',
  summary: "the coordinator's transaction records (state, votes, acks), by txn id",
  usage: `txn-records list [--participant P] [--state S[,S]] [--unacked] [--limit N]
  --participant P  only transactions P takes part in
  --state S        only PREPARING, COMMIT and/or ABORT (comma-separated)
  --unacked        with --participant: only those P has not acknowledged (in doubt)
  --limit N        at most N records`,
  options: {
    participant: { type: 'string' },
    state: { type: 'string' },
    unacked: { type: 'boolean' },
    limit: { type: 'string' },
  },
  arity: [0, 0],
  async run(ctx) {
    const participant = str(ctx.flags, 'participant');
    const unacked = bool(ctx.flags, 'unacked');
    if (unacked && participant === undefined) throw new UsageError('--unacked needs --participant');
    const limit = str(ctx.flags, 'limit');
    const r = await ctx.client().coordinator.list({
      states: parseStates(str(ctx.flags, 'state')),
      ...(participant !== undefined ? { participant, unackedOnly: unacked } : {}),
      ...(limit !== undefined ? { limit: parseCount(limit, '--limit', { min: 1 }) } : {}),
    });
    const out = ctx.out;
    if (out.format === 'json') out.json({ records: r.records.map(recordJson), revision: r.revision });
    else if (out.format === 'simple') for (const t of r.records) out.line(`${t.txnId} ${t.state}`);
    else if (r.records.length === 0) out.line('no transaction records');
    else
      out.table(
        HEADERS,
        r.records.map((t) => recordRow(out, t)),
      );
    return ExitCode.OK;
  },
};

/** `txn-records get TXN_ID`. */
export const txnRecordsGet: Command = {
  name: 'txn-records get',
  summary: 'one transaction record in full (exit 3 when there is none)',
  usage: 'txn-records get TXN_ID',
  arity: [1, 1],
  async run(ctx) {
    const r = await ctx.client().coordinator.get(ctx.args[0] as string);
    const out = ctx.out;
    if (out.format === 'json') {
      out.json(recordJson(r));
      return ExitCode.OK;
    }
    if (out.format === 'simple') {
      out.line(r.state);
      return ExitCode.OK;
    }
    const meta = Object.entries(r.metadata).map(([k, v]) => `${k}=${v}`);
    const rows: [string, string][] = [
      ['txn id', r.txnId],
      ['state', out.style(STATE_STYLE[r.state], r.state)],
      ['participants', r.participants.join(', ')],
      ['votes', votesText(r) || '-'],
      ['acks', r.acks.join(', ') || '-'],
      ['reason', r.reason || '-'],
      ['metadata', meta.join(', ') || '-'],
      ['began', time(r.beganUnixMs)],
      ['deadline', time(r.deadlineUnixMs)],
      ['decided', r.decidedUnixMs === 0 ? '-' : `${time(r.decidedUnixMs)} (rev ${r.decidedAtRevision})`],
      ['finished', time(r.finishedUnixMs)],
      ['revisions', `created ${r.createRevision}, modified ${r.modRevision}`],
    ];
    for (const [k, v] of rows) out.line(`${out.style('bold', `${k}:`.padEnd(14))}${v}`);
    return ExitCode.OK;
  },
};

/** `txn-records watch [--participant P] [--txn ID] [--count N]`. */
export const txnRecordsWatch: Command = {
  name: 'txn-records watch',
  summary: 'print transaction decisions (COMMIT/ABORT) as they are made (until Ctrl-C or --count)',
  usage: `txn-records watch [--participant P] [--txn TXN_ID] [--rev N] [--count N]
  --participant P  only transactions P takes part in
  --txn TXN_ID     only this transaction
  --rev N          replay decisions written at or after revision N
  --count N        exit 0 after N decisions
  -o json prints one JSON object per line.`,
  options: {
    participant: { type: 'string' },
    txn: { type: 'string' },
    rev: { type: 'string' },
    count: { type: 'string' },
  },
  arity: [0, 0],
  async run(ctx) {
    const participant = str(ctx.flags, 'participant');
    const txnId = str(ctx.flags, 'txn');
    const rev = str(ctx.flags, 'rev');
    const count = str(ctx.flags, 'count');
    const limit = count === undefined ? Number.POSITIVE_INFINITY : parseCount(count, '--count', { min: 1 });
    const coordinator = ctx.client().coordinator;
    // The stream retries forever on an unreachable cluster: one read first fails fast and clearly.
    const now = await coordinator.list({ limit: 1 });
    const watch = coordinator.watch({
      ...(participant !== undefined ? { participant } : {}),
      ...(txnId !== undefined ? { txnId } : {}),
      // Without --rev: every decision after the read above (none made in between is missed).
      fromRevision: rev !== undefined ? parseCount(rev, '--rev', { min: 1 }) : now.revision + 1,
    });
    void aborted(ctx.signal).then(() => watch.close());
    const out = ctx.out;
    let seen = 0;
    try {
      for await (const d of watch) {
        const r = d.record;
        if (out.format === 'json') out.json({ revision: d.revision, ...(recordJson(r) as object) });
        else if (out.format === 'simple') out.line(`${r.txnId} ${r.state}`);
        else {
          const why = r.reason ? `  ${out.style('dim', r.reason)}` : '';
          out.line(
            `${out.style(STATE_STYLE[r.state], r.state.padEnd(6))}  ${out.style('dim', `rev ${d.revision}`)}  ${r.txnId}  ${votesText(r)}${why}`,
          );
        }
        if (++seen >= limit) break;
      }
    } finally {
      watch.close();
    }
    return ExitCode.OK;
  },
};
