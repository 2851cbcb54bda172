/**
 * One whole fuzz session, shared by the test and the CLI: start a real three-member
 * cluster, seed it, record what must not change, run the fuzzer, then check that every
 * member is alive and serving under one leader, that memory stayed bounded, and that the
 * seeded data, HashKV at the seed revision, the member list and the alarms are unchanged.
 * Allowed to change: keys under `fuzz/`, Cairn's own records under `/cairn/`, leases, and
 * the current revision.
 */
import { TestCluster } from '../support/cluster.js';
import {
  checkServing,
  type MemberRecord,
  memberClients,
  memberIds,
  recordOf,
  rssBytes,
  seedData,
} from './probe.js';
import { type FuzzReport, formatFailure, runApiFuzz } from './runner.js';

/** Growth of a member's resident memory over a run that counts as unbounded. */
export const RSS_GROWTH_BYTES_MAX = 256 * 1024 * 1024;
/** The default --max-request-bytes (1.5 MiB) plus the 512 KiB the server's transport adds. */
const MAX_RECEIVE_BYTES = 1.5 * 1024 * 1024 + 512 * 1024;

/** The outcome of a session: the fuzz report and every broken expectation, printable. */
export interface SessionResult {
  readonly report: FuzzReport;
  readonly problems: string[];
  readonly rss: { member: string; beforeBytes: number; afterBytes: number }[];
}

/** Runs a fuzz session against a fresh cluster (stopped at the end). */
export async function fuzzSession(opts: {
  seed: number;
  count: number;
  only?: readonly number[];
}): Promise<SessionResult> {
  const cluster = await TestCluster.start();
  const names = cluster.topology.members.map((m) => m.name);
  const clients = cluster.endpoints().map((e) => memberClients(e));
  try {
    await cluster.leaderName();
    const seedRevision = await seedData(clients[0]!);
    const before: MemberRecord[] = [];
    for (const c of clients) before.push(await recordOf(c, seedRevision));
    const ids = await memberIds(clients[0]!);
    const pids = names.map((n) => cluster.processes.get(n)!.pid!);
    const rssBefore = pids.map(rssBytes);

    const report = await runApiFuzz({
      seed: opts.seed,
      count: opts.count,
      ...(opts.only ? { only: opts.only } : {}),
      endpoints: cluster.endpoints(),
      guard: { memberIds: ids },
      maxReceiveBytes: MAX_RECEIVE_BYTES,
    });
    const problems = report.failures.map(formatFailure);
    const where = `(seed ${opts.seed}, ${report.cases} cases)`;

    for (const n of names) {
      const p = cluster.processes.get(n)!;
      if (p.exitCode !== null || p.signalCode !== null)
        problems.push(`member ${n} died during the run ${where}: exit ${p.exitCode} signal ${p.signalCode}`);
    }
    const rss = names.map((member, i) => ({ member, beforeBytes: rssBefore[i]!, afterBytes: 0 }));
    if (problems.length === 0) {
      const serving = await checkServing(clients);
      if (serving) problems.push(`the cluster does not serve after the run ${where}: ${serving}`);
      for (const [i, c] of clients.entries()) {
        const after = await recordOf(c, seedRevision);
        const b = before[i]!;
        for (const k of Object.keys(b) as (keyof MemberRecord)[])
          if (after[k] !== b[k])
            problems.push(
              `${names[i]}: ${k} changed ${where}:\n  before ${String(b[k])}\n  after  ${String(after[k])}`,
            );
      }
      for (const [i, pid] of pids.entries()) {
        rss[i]!.afterBytes = rssBytes(pid);
        if (rss[i]!.afterBytes - rss[i]!.beforeBytes > RSS_GROWTH_BYTES_MAX)
          problems.push(
            `${names[i]}: resident memory grew from ${rss[i]!.beforeBytes} to ${rss[i]!.afterBytes} bytes ${where}`,
          );
      }
    }
    return { report, problems, rss };
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
  }
}
