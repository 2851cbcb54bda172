/**
 * The workloads a chaos run adds to the KV workers, each recording its own history during
 * the same faulted campaign and judged by its own checker: lock safety with a fenced resource
 * (checker/fence.ts), 2PC atomicity (checker/atomicity.ts), membership convergence
 * (checker/membership.ts) and watch guarantees (checker/watch-order.ts). start() before the
 * faults, run() alongside them, check() once every member is back (after the campaign's
 * full restart), close() always.
 */
import { Client } from '../../../src/client/index.js';
import { checkAtomicity } from '../checker/atomicity.js';
import { checkFence } from '../checker/fence.js';
import { checkMembership } from '../checker/membership.js';
import { checkWatches } from '../checker/watch-order.js';
import { LockRecorder, runLockWorkload, SUCCESSOR_WAIT_MS } from './lock-fence.js';
import { MembershipWorkload } from './membership.js';
import { runTxnWorkload, snapshotOf, TxnRecorder, watchDecisions } from './txn.js';
import { WatchWorkload } from './watch.js';

/** One checker's verdict (the shape of campaign.ts's CheckVerdict). */
export interface ExtraVerdict {
  readonly name: string;
  readonly pass: boolean;
  /** Neither PASS nor FAIL: nothing unsafe was seen, but the run could not show what it must. */
  readonly undecided?: boolean;
  readonly detail: string;
}

/** How the extra workloads run. */
export interface ExtraOptions {
  readonly endpoints: readonly string[];
  readonly seed: number;
  readonly timeS: number;
  readonly log?: (line: string) => void;
}

/** How long check() waits for each workload to converge after the faults. */
const CONVERGE_MS = 30_000;

function verdict(
  name: string,
  r: { ok: boolean; violations: readonly string[]; summary: string },
): ExtraVerdict {
  return { name, pass: r.ok, detail: r.ok ? r.summary : `${r.violations.join('; ')} (${r.summary})` };
}

/** The four extra workloads of a run. */
export class ExtraWorkloads {
  readonly locks = new LockRecorder();
  readonly txns = new TxnRecorder();
  private stopDecisions: () => void = () => undefined;
  private readonly histories: Record<string, unknown> = {};

  private constructor(
    private readonly opts: ExtraOptions,
    private readonly clients: Client[],
    readonly membership: MembershipWorkload,
    readonly watches: WatchWorkload,
  ) {}

  /** Connects the clients (each preferring another member), the subscribers and the decision stream. */
  static async start(opts: ExtraOptions): Promise<ExtraWorkloads> {
    const n = opts.endpoints.length;
    const clients = Array.from(
      { length: 4 },
      (_, i) =>
        new Client({
          endpoints: Array.from({ length: n }, (_, j) => opts.endpoints[(i + j) % n]!),
          deadlineMs: 10_000,
        }),
    );
    const w = new ExtraWorkloads(
      opts,
      clients,
      new MembershipWorkload(clients, opts.seed, 6, 3),
      new WatchWorkload(clients),
    );
    w.stopDecisions = await watchDecisions(clients[0]!, w.txns);
    return w;
  }

  /** Runs every workload until shouldStop() (transactions in flight get a few seconds more). */
  async run(shouldStop: () => boolean): Promise<void> {
    await Promise.all([
      runLockWorkload(
        { clients: this.clients, holders: 4, seed: this.opts.seed, staleEveryMs: 4000 },
        this.locks,
        shouldStop,
      ),
      runTxnWorkload({ clients: this.clients, coordinators: 3, seed: this.opts.seed }, this.txns, shouldStop),
      this.membership.run(shouldStop),
      this.watches.run(4, this.opts.timeS, shouldStop),
    ]);
    const l = this.locks;
    this.opts.log?.(
      `  extra workloads done: ${l.grants.length} lock grants (${l.acquireFailures} failed acquires), ${this.txns.begun.length} txns (${this.txns.failures} failed calls), ${this.membership.changes.length} view changes (${this.membership.failures} failed registry calls)`,
    );
  }

  /** Judges every workload; call once the cluster is whole again, with the endpoints of its members now (membership faults may have removed a founding one). */
  async check(endpointsNow: readonly string[] = this.opts.endpoints): Promise<ExtraVerdict[]> {
    const out: ExtraVerdict[] = [];
    const reader = this.clients[0]!;
    const fence = this.locks.history();
    this.histories.locks = fence;
    const report = checkFence(fence);
    const f = verdict('lock-fence', report);
    const why = [...this.locks.acquireErrors].map(([m, n]) => `${n}x ${m}`).join('; ');
    // A stale holder whose lock never went on to a writer while others asked: a liveness finding.
    const stuck = this.locks.notPassedOn
      .map(
        (s) =>
          `${s.holder}'s token ${s.token} (from ${((s.fromMs - this.locks.startedAtMs) / 1000).toFixed(1)} s)`,
      )
      .join(', ');
    const liveness = stuck
      ? `; liveness: the lock was not passed on to a writer within ${SUCCESSOR_WAIT_MS / 1000} s after ${stuck} went stale, although others were asking`
      : '';
    const failed = why ? `; failed acquires: ${why}` : '';
    // An unexercised fence, or a lock that did not pass on, with nothing unsafe is undecided.
    out.push(
      f.pass && !stuck
        ? f
        : { ...f, pass: false, undecided: !report.unsafe, detail: `${f.detail}${liveness}${failed}` },
    );

    this.stopDecisions();
    let final: ReturnType<typeof snapshotOf>[] = [];
    let listError = '';
    try {
      final = (await reader.coordinator.list({ deadlineMs: CONVERGE_MS })).records.map(snapshotOf);
    } catch (err) {
      listError = (err as Error).message;
    }
    const txns = this.txns.history(final);
    this.histories.txns = txns;
    out.push(
      listError
        ? { name: 'txn-atomicity', pass: false, detail: `could not re-read the records: ${listError}` }
        : verdict('txn-atomicity', checkAtomicity(txns)),
    );

    const members = await this.membership.converge(reader, CONVERGE_MS);
    this.histories.membership = members;
    const m = verdict('membership', checkMembership(members));
    out.push(m.pass ? m : { ...m, detail: `${m.detail}; registrations: ${this.membership.describeSlots()}` });

    try {
      const watches = await this.watches.finish(reader, endpointsNow[0]!, CONVERGE_MS);
      this.histories.watches = watches;
      out.push(verdict('watch', checkWatches({ ...watches, everyMemberKilled: true })));
    } catch (err) {
      out.push({ name: 'watch', pass: false, detail: `could not finish: ${(err as Error).message}` });
    }
    return out;
  }

  /** What the workloads recorded, for the failure artifact. */
  recorded(): Record<string, unknown> {
    return this.histories;
  }

  /** Stops everything and closes the clients (bounded: a dead cluster must not hang the run). */
  async close(): Promise<void> {
    this.stopDecisions();
    this.membership.close();
    this.watches.close();
    await Promise.race([
      Promise.allSettled(this.clients.map((c) => c.close())),
      new Promise((r) => setTimeout(r, 5000).unref()),
    ]);
    for (const c of this.clients) c.connection.close();
  }
}
