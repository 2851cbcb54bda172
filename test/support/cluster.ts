/**
 * A real three-member cluster for end-to-end tests: member processes started through
 * cluster/ (the same code path as cluster/start.sh, from the build in dist/), on free
 * loopback ports, with data in a temporary folder. More members can join it at run time
 * (newMember, then startJoining once MemberAdd has been made). Every process is killed in stop().
 * With { tls: true } the certificates come from cluster/certs.ts, as for `start --tls`; with
 * { metrics: true } each member also serves its metrics listener (LocalMember.metricsUrl); with
 * { seed } the members' data folders are filled before they start (a restored snapshot).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { ensureClusterCerts } from '../../cluster/certs.js';
import { spawnMember } from '../../cluster/processes.js';
import { waitForAgreedLeader, waitForLeader } from '../../cluster/readiness.js';
import {
  type LocalMember,
  type LocalTopology,
  localMember,
  localTopology,
  memberNames,
} from '../../cluster/topology.js';
import type { ClientTlsFiles } from '../../src/common/tls.js';
import { TEST_ENTRY } from './entry.js';
import { freePorts } from './ports.js';
import { type LoggingCluster, runningClusters } from './running-clusters.js';

/** Lines of each member's output kept for a failed test's report. */
const LOG_LINES_KEPT = 200;

/** A running test cluster. */
export class TestCluster implements LoggingCluster {
  readonly processes = new Map<string, ChildProcess>();
  /** The last lines each member printed, by member name (bounded: LOG_LINES_KEPT). */
  private readonly logs = new Map<string, string[]>();
  /** Members made with newMember (not founding members). */
  readonly joined: LocalMember[] = [];

  private constructor(readonly topology: LocalTopology) {}

  /**
   * Starts three members on free ports; extra flags go to every member; tls: https everywhere,
   * client-cert-auth on; metrics: each member serves --listen-metrics-urls on a free port too;
   * token: the cluster token; seed: runs before any member starts (to fill their data folders,
   * e.g. from a snapshot), and a failure there removes the folder.
   */
  static async start(
    extraFlags: readonly string[] = ['--heartbeat-interval=50', '--election-timeout=500'],
    opts: {
      tls?: boolean;
      metrics?: boolean;
      token?: string;
      seed?: (t: LocalTopology) => Promise<void>;
    } = {},
  ): Promise<TestCluster> {
    const ports = await freePorts(opts.metrics ? 9 : 6);
    const memberPorts = [0, 1, 2].map((i) => ({
      client: ports[2 * i]!,
      peer: ports[2 * i + 1]!,
      ...(opts.metrics ? { metrics: ports[6 + i]! } : {}),
    }));
    const root = mkdtempSync(join(tmpdir(), 'cairn-e2e-'));
    const certs = opts.tls ? ensureClusterCerts(join(root, 'certs'), memberNames(memberPorts)) : undefined;
    const t = localTopology(root, memberPorts, opts.token ?? 'cairn-e2e', certs);
    const c = new TestCluster(t);
    c.extraFlags = extraFlags;
    if (opts.seed) {
      try {
        await opts.seed(t);
      } catch (err) {
        rmSync(root, { recursive: true, force: true });
        throw err;
      }
    }
    for (const m of t.members) c.startMember(m);
    runningClusters.add(c);
    return c;
  }

  private extraFlags: readonly string[] = [];

  /** Starts (or restarts) one member; env adds to its environment (a test hook's variable). */
  startMember(m: LocalMember, env?: Readonly<Record<string, string>>): void {
    const child = spawnMember(this.topology, m, {
      entry: TEST_ENTRY,
      detached: false,
      extraFlags: this.extraFlags,
      ...(env ? { env } : {}),
    });
    this.follow(m, child);
  }

  /** The lines a member printed since it was last started (as many as are kept). */
  linesSinceStart(name: string): string[] {
    const lines = this.logs.get(name) ?? [];
    let start = lines.length - 1;
    while (start >= 0 && !lines[start]!.startsWith(`--- ${name} started`)) start--;
    return lines.slice(start + 1);
  }

  /** A member on free ports that is not started yet (add it with MemberAdd, then startJoining). */
  async newMember(name: string): Promise<LocalMember> {
    const [client, peer] = await freePorts(2);
    const m = localMember(this.topology.rootDir, name, { client: client!, peer: peer! });
    this.joined.push(m);
    return m;
  }

  /**
   * Starts a member that joins the running cluster (--initial-cluster-state existing), its
   * --initial-cluster listing every member this cluster knows of plus itself.
   */
  startJoining(m: LocalMember): ChildProcess {
    const existing = [...this.topology.members, ...this.joined];
    const child = spawnMember(this.topology, m, {
      entry: TEST_ENTRY,
      detached: false,
      extraFlags: this.extraFlags,
      join: { existing },
    });
    this.follow(m, child);
    return child;
  }

  /**
   * Keeps the last LOG_LINES_KEPT lines each member printed (its log, at the members' level)
   * for a failed test's report (recentLog), and says why when a member exits on its own.
   */
  private follow(m: LocalMember, child: ChildProcess): void {
    let lines = this.logs.get(m.name);
    if (lines === undefined) {
      lines = [];
      this.logs.set(m.name, lines);
    }
    const kept = lines;
    kept.push(`--- ${m.name} started (pid ${child.pid})`);
    const keep = (): ((b: Buffer) => void) => {
      let partial = '';
      return (b) => {
        const parts = (partial + b.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) if (line.length > 0) kept.push(line);
        if (kept.length > LOG_LINES_KEPT) kept.splice(0, kept.length - LOG_LINES_KEPT);
      };
    };
    child.stdout?.on('data', keep());
    child.stderr?.on('data', keep());
    child.once('exit', (code, signal) => {
      if (signal === null && code !== 0)
        console.error(`member ${m.name} exited with code ${code}:\n${kept.slice(-20).join('\n')}`);
    });
    this.processes.set(m.name, child);
  }

  /** The last lines each member printed, member by member (what a failed test prints). */
  recentLog(): string {
    const parts = [...this.logs].map(
      ([name, lines]) => `=== member ${name}, last ${lines.length} lines:\n${lines.join('\n')}`,
    );
    return `cluster in ${this.topology.rootDir}:\n${parts.join('\n')}`;
  }

  /** Kills one member with a signal and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.processes.get(name);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    await exited;
    this.processes.delete(name);
  }

  /** The member with this name. */
  member(name: string): LocalMember {
    const m = [...this.topology.members, ...this.joined].find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** An etcd3 client for some members (default: all); on a TLS cluster it presents the client certificate. */
  client(names?: readonly string[]): Etcd3 {
    const ms = names ? names.map((n) => this.member(n)) : this.topology.members;
    const tls = this.topology.tls;
    return new Etcd3({
      hosts: ms.map((m) => m.clientUrl),
      dialTimeout: 2000,
      ...(tls
        ? {
            credentials: {
              rootCertificate: readFileSync(tls.caFile),
              certChain: readFileSync(tls.client.certFile),
              privateKey: readFileSync(tls.client.keyFile),
            },
          }
        : {}),
    });
  }

  /** The name of the member that reports itself leader, among the running ones (waits for one: a minute, for machines busy with several suites). */
  async leaderName(timeoutMs = 60_000): Promise<string> {
    const { urls, names, tls } = this.running();
    return (await waitForLeader(urls, timeoutMs, names, tls)).name;
  }

  /** The running members' client URLs and names, and the client certificate files of a TLS cluster. */
  private running(): { urls: string[]; names: string[]; tls: ClientTlsFiles } {
    const live = this.topology.members.filter((m) => this.processes.has(m.name));
    const tls = this.topology.tls;
    return {
      urls: live.map((m) => m.clientUrl),
      names: live.map((m) => m.name),
      tls: tls ? { caFile: tls.caFile, certFile: tls.client.certFile, keyFile: tls.client.keyFile } : {},
    };
  }

  /**
   * The leader's name once every running member names it (waits a minute at most): for tests
   * whose clients spread over all members and do not retry a "no leader" answer, as etcdctl
   * does not for writes.
   */
  async agreedLeaderName(timeoutMs = 60_000): Promise<string> {
    const { urls, names, tls } = this.running();
    return (await waitForAgreedLeader(urls, timeoutMs, names, tls)).name;
  }

  /** Client endpoints (host:port) of some members (default: all). */
  endpoints(names?: readonly string[]): string[] {
    const ms = names ? names.map((n) => this.member(n)) : this.topology.members;
    return ms.map((m) => `127.0.0.1:${m.clientPort}`);
  }

  /** Kills every member and removes the data folder. */
  async stop(): Promise<void> {
    runningClusters.delete(this);
    for (const name of [...this.processes.keys()]) await this.kill(name);
    rmSync(this.topology.rootDir, { recursive: true, force: true });
  }
}
