/**
 * One chaos run: start a cluster whose peer paths go through the harness's proxies, load it
 * with recording client workers while the seeded nemesis injects faults, then bring every
 * member back and check: the history (with a final read of every key after healing and
 * again after a SIGKILL and restart of all members) is linearizable, so no acknowledged
 * write was lost; every member's HashKV is equal at the same revision; no member exited
 * on its own (a crash or a failed assertion); and leases were neither revoked early nor kept
 * alive past their TTL (lease-probe.ts), whatever the members' wall clocks did.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerEntry } from '../../cluster/processes.js';
import { type CheckResult, checkLinearizable, formatCheck } from './checker/linearizability.js';
import { ChaosCluster } from './cluster.js';
import { LEASE_PROBE_DEFAULTS, LeaseProbe, type LeaseProbeResult } from './lease-probe.js';
import { FAULT_KINDS, type FaultKind, Nemesis, planFaults } from './nemesis.js';
import { bringEveryoneBack, compareHashes, resolveUnknown, waitConverged, writtenValues } from './settle.js';
import { finalReads, HistoryRecorder, runWorkload } from './workers.js';
import { ExtraWorkloads } from './workloads/index.js';

/** How a run is set up. */
export interface CampaignOptions {
  readonly seed: number;
  /** How long the workload and faults last. */
  readonly timeS: number;
  readonly nodes: 3 | 5;
  readonly workers?: number;
  readonly keys?: number;
  readonly requestTimeoutMs?: number;
  /** Canary: workers read serializably (stale reads allowed), which the checker must catch. */
  readonly serializableReads?: boolean;
  /** The fault kinds the nemesis picks from (default: all of them). */
  readonly faults?: readonly FaultKind[];
  readonly log?: (line: string) => void;
  /** Run the lock, transaction, membership and watch workloads too (default true). */
  readonly extraWorkloads?: boolean;
  /**
   * What the members run (default 'source': `npm run chaos` runs through tsx without a build;
   * the vitest suite passes its TEST_ENTRY, built by its global setup).
   */
  readonly entry?: ServerEntry;
}

/** One checker's verdict; undecided: the checker ran out of budget (neither PASS nor FAIL). */
export interface CheckVerdict {
  readonly name: string;
  readonly pass: boolean;
  readonly undecided?: boolean;
  readonly detail: string;
}

/** What a run found. */
export interface CampaignResult {
  readonly seed: number;
  readonly nodes: number;
  readonly pass: boolean;
  readonly checks: readonly CheckVerdict[];
  readonly faultsInjected: number;
  readonly opsOk: number;
  readonly opsUnknown: number;
  readonly opsFailed: number;
  readonly unknownNeverApplied: number;
  readonly proxiedConnections: number;
  readonly linearizability?: CheckResult;
  /** Where the history and report were written when a check failed. */
  readonly artifact?: string;
}

/**
 * How long members may take to start and agree. Generous: on a loaded machine starting a
 * member from TypeScript source alone has taken 40 s.
 */
const STARTUP_MS = 180_000;

/** The member flags of a chaos cluster: short timeouts, so faults are noticed quickly. */
const MEMBER_FLAGS = ['--heartbeat-interval=50', '--election-timeout=500'];

/** Runs one campaign; never leaves a process behind. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const log = opts.log ?? (() => {});
  const keys = Array.from({ length: opts.keys ?? 6 }, (_, i) => `k${i}`);
  const recorder = new HistoryRecorder();
  const checks: CheckVerdict[] = [];
  const faults = opts.faults ?? FAULT_KINDS;
  // One spare member when membership changes are on: ports and proxies are made up front.
  const spares = faults.includes('membership') ? 1 : 0;
  const cluster = await ChaosCluster.start(opts.nodes, MEMBER_FLAGS, spares, opts.entry ?? 'source');
  let leases: LeaseProbeResult | undefined;
  let keepData = false;
  let nemesis: Nemesis | undefined;
  let extra: ExtraWorkloads | undefined;
  let lin: CheckResult | undefined;
  let neverApplied = 0;
  let artifact: string | undefined;
  try {
    const first = await cluster.waitForLeader(STARTUP_MS);
    if (first === undefined) throw new Error(`no leader within ${STARTUP_MS} ms of start`);
    log(`  cluster of ${opts.nodes} up (leader ${first}), data in ${cluster.topology.rootDir}`);
    /** Client endpoints of the members now (a membership fault may have removed a founding one). */
    const endpointsNow = (): string[] =>
      cluster.names.map((n) => `127.0.0.1:${cluster.member(n).clientPort}`);
    const endpoints = endpointsNow();
    if (opts.extraWorkloads !== false)
      extra = await ExtraWorkloads.start({ endpoints, seed: opts.seed, timeS: opts.timeS, log });
    const stopAt = performance.now() + opts.timeS * 1000;
    const shouldStop = (): boolean => performance.now() >= stopAt;
    // Enough faults for any run length; the run's time ends the plan.
    nemesis = new Nemesis(
      cluster,
      planFaults(opts.seed, Math.ceil(opts.timeS) + 1, opts.nodes + spares, faults),
      log,
      opts.nodes,
    );
    log(`  faults: ${faults.join(',')}`);
    const probe = new LeaseProbe({ ...LEASE_PROBE_DEFAULTS, endpoints });
    await Promise.all([
      probe.run(shouldStop).then((r) => {
        leases = r;
      }),
      runWorkload(
        {
          workers: opts.workers ?? 8,
          keys,
          endpoints,
          requestTimeoutMs: opts.requestTimeoutMs ?? 1000,
          seed: opts.seed,
          opsMax: 500_000,
          serializableReads: opts.serializableReads ?? false,
        },
        recorder,
        shouldStop,
      ),
      nemesis.run(shouldStop),
      extra?.run(shouldStop),
    ]);
    log(`  load done: ${recorder.ok} ok, ${recorder.unknown} unknown, ${recorder.failed} failed; healing`);

    cluster.healHostFaults();
    bringEveryoneBack(cluster);
    const healed = await waitConverged(cluster, STARTUP_MS);
    const reads1 = await finalReads(endpointsNow(), keys, recorder, 10_000);
    await Promise.all(cluster.names.map((n) => cluster.kill(n)));
    bringEveryoneBack(cluster);
    const restarted = await waitConverged(cluster, STARTUP_MS);
    const reads2 = await finalReads(endpointsNow(), keys, recorder, 10_001);
    const readsOk =
      healed !== undefined &&
      restarted !== undefined &&
      reads1.missing.length === 0 &&
      reads2.missing.length === 0;
    checks.push({
      name: 'final-reads',
      pass: readsOk,
      detail: `converged after healing: ${healed !== undefined}, after full restart: ${restarted !== undefined}; keys read ${reads1.read}+${reads2.read}/${2 * keys.length}`,
    });
    // After the full restart: every member was killed while the watchers ran.
    if (extra) checks.push(...(await extra.check(endpointsNow())));

    if (leases) {
      const seen = `${leases.keptRenewals} keep-alives, ${leases.keptLostAfterOutage} kept leases lost after an outage, ${leases.expiredInBounds} expiries in bounds`;
      log(`  leases: ${seen}`);
      const detail = leases.violations.length > 0 ? `${seen}: ${leases.violations.join('; ')}` : seen;
      checks.push({ name: 'leases', pass: leases.pass, detail });
    }
    checks.push({
      name: 'no-crash',
      pass: cluster.crashes.length === 0,
      detail: cluster.crashes.length === 0 ? 'no member exited on its own' : cluster.crashes.join('; '),
    });
    const hashes = await compareHashes(cluster, 30_000);
    checks.push({ name: 'hashkv', pass: hashes.ok, detail: hashes.detail });

    let history = recorder.ops;
    const revision = await waitConverged(cluster, 10_000);
    if (revision !== undefined) {
      try {
        const written = await writtenValues(endpointsNow()[0]!, revision, 30_000);
        const resolved = resolveUnknown(history, written);
        history = resolved.history;
        neverApplied = resolved.neverApplied;
      } catch (err) {
        log(`  could not read the write history (${(err as Error).message}); unknown writes stay unknown`);
      }
    }
    lin = checkLinearizable(history, { timeBudgetMs: 120_000 });
    const t0 = recorder.ops.reduce((m, h) => Math.min(m, h.invokeMs), Number.POSITIVE_INFINITY);
    checks.push({
      name: 'linearizable',
      pass: lin.verdict === 'ok',
      undecided: lin.verdict === 'unknown',
      detail: lin.verdict === 'ok' ? `${lin.ops} ops, ${lin.keys.length} keys` : formatCheck(lin, t0),
    });
    const pass = checks.every((c) => c.pass);
    if (!pass) {
      keepData = true;
      artifact = join(tmpdir(), `cairn-chaos-seed-${opts.seed}.json`);
      writeFileSync(
        artifact,
        JSON.stringify(
          {
            seed: opts.seed,
            nodes: opts.nodes,
            checks,
            events: nemesis.events,
            history: recorder.ops,
            extra: extra?.recorded(),
          },
          null,
          1,
        ),
      );
    }
    return {
      seed: opts.seed,
      nodes: opts.nodes,
      pass,
      checks,
      faultsInjected: nemesis.injected,
      opsOk: recorder.ok,
      opsUnknown: recorder.unknown,
      opsFailed: recorder.failed,
      unknownNeverApplied: neverApplied,
      proxiedConnections: cluster.network.acceptedConnections(),
      ...(lin ? { linearizability: lin } : {}),
      ...(artifact ? { artifact } : {}),
    };
  } finally {
    await extra?.close();
    await cluster.stop(keepData);
    if (keepData) log(`  member data and logs kept in ${cluster.topology.rootDir}`);
  }
}

/** The one-line verdict of a run. */
export function verdictLine(r: CampaignResult): string {
  const word = (c: CheckVerdict): string => (c.pass ? 'PASS' : c.undecided ? 'UNKNOWN' : 'FAIL');
  const checks = r.checks.map((c) => `${c.name}=${word(c)}`).join(' ');
  const overall = r.pass ? 'PASS' : r.checks.every((c) => c.pass || c.undecided) ? 'UNKNOWN' : 'FAIL';
  return (
    `seed=${r.seed} nodes=${r.nodes} faults=${r.faultsInjected} ops ok=${r.opsOk} unknown=${r.opsUnknown}` +
    ` (never applied ${r.unknownNeverApplied}) failed=${r.opsFailed} proxied=${r.proxiedConnections} | ${checks} => ${overall}`
  );
}
