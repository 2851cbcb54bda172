/**
 * What the benchmark needs of a running three-member cluster, Cairn's or etcd's: its members'
 * endpoints and pids, which one leads, killing and restarting one member, and stopping
 * everything (processes and temporary data).
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../src/common/proto-loader.js';
import { unary, type Wire } from './grpc.js';

/** The systems compared. */
export type System = 'cairn' | 'etcd';

/** One member process of a benchmarked cluster. */
export interface BenchMember {
  readonly name: string;
  /** host:port of its client API. */
  readonly endpoint: string;
  /** Its current pid (undefined while it is down). */
  pid(): number | undefined;
}

/** A running cluster under test. */
export interface BenchCluster {
  readonly system: System;
  readonly members: readonly BenchMember[];
  /** SIGKILLs one member. */
  kill(index: number): Promise<void>;
  /** Starts a killed member again on its data. */
  restart(index: number): void;
  /** Stops every member and removes the temporary data; safe to call twice. */
  stop(): Promise<void>;
  /** Synchronous last resort for process exit: SIGKILL whatever still runs. */
  killAllSync(): void;
}

/** One member's Maintenance.Status answer (1 s deadline). */
async function memberStatus(endpoint: string): Promise<Wire> {
  const { Maintenance } = etcdServices();
  const client = new Maintenance(endpoint, grpc.credentials.createInsecure());
  try {
    return await unary(client, 'Status', {}, 1000);
  } finally {
    client.close();
  }
}

/** The index of the member that reports itself leader, polling until timeoutMs. */
export async function leaderIndex(cluster: BenchCluster, timeoutMs = 30_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < until) {
    for (let i = 0; i < cluster.members.length; i++) {
      const m = cluster.members[i]!;
      if (m.pid() === undefined) continue;
      try {
        const s = await memberStatus(m.endpoint);
        if (s.leader !== 0 && s.leader === s.header.member_id) return i;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${cluster.system}: no leader within ${timeoutMs} ms (${last})`);
}

/**
 * The highest raft term any running member reports (undefined when none answers). The term
 * moves only when some member campaigns (Cairn pre-votes first, etcd 3.4 by default does
 * not, but on loopback a campaign means a member stopped hearing its leader either way): the
 * difference across a workload counts the elections it caused.
 */
export async function clusterTerm(cluster: BenchCluster): Promise<number | undefined> {
  const terms = await Promise.all(
    cluster.members
      .filter((m) => m.pid() !== undefined)
      .map((m) =>
        memberStatus(m.endpoint).then(
          (s: Wire) => Number(s.raftTerm),
          () => undefined,
        ),
      ),
  );
  const known = terms.filter((t): t is number => t !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

/** Waits until every running member answers a linearizable read (a restarted one has caught up). */
export async function waitAllServing(cluster: BenchCluster, timeoutMs = 30_000): Promise<void> {
  const { KV } = etcdServices();
  const until = Date.now() + timeoutMs;
  for (const m of cluster.members) {
    const client = new KV(m.endpoint, grpc.credentials.createInsecure());
    try {
      for (;;) {
        try {
          await unary(client, 'Range', { key: Buffer.from('bench/probe') }, 1000);
          break;
        } catch (err) {
          if (Date.now() > until)
            throw new Error(`${cluster.system} ${m.name} not serving: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      client.close();
    }
  }
}

/** The members' endpoints with the leader first, then the others in order. */
export function leaderFirst(cluster: BenchCluster, leader: number): string[] {
  const eps = cluster.members.map((m) => m.endpoint);
  return [eps[leader]!, ...eps.filter((_, i) => i !== leader)];
}

/** Resolves true when a process with this pid no longer exists, false after limitMs (if given). */
export async function waitGone(pid: number, limitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
  const until = Date.now() + limitMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** How long a member may take to shut down on SIGTERM at the end of a workload before it is SIGKILLed. */
const STOP_GRACE_MS = 5_000;

/**
 * A BenchCluster over member processes that `start(i)` (re)spawns into `children[i]`: kill
 * SIGKILLs one, restart starts a dead one again on its data, stop kills all and removes root.
 */
export function processCluster(
  system: System,
  members: readonly { readonly name: string; readonly clientPort: number }[],
  children: (ChildProcess | undefined)[],
  start: (index: number) => void,
  root: string,
): BenchCluster {
  const alive = (i: number): ChildProcess | undefined => {
    const c = children[i];
    return c && c.exitCode === null && c.signalCode === null ? c : undefined;
  };
  let stopped = false;
  return {
    system,
    members: members.map((m, i) => ({
      name: m.name,
      endpoint: `127.0.0.1:${m.clientPort}`,
      pid: () => alive(i)?.pid,
    })),
    async kill(i) {
      const c = alive(i);
      if (!c?.pid) return;
      c.kill('SIGKILL');
      await waitGone(c.pid);
    },
    restart(i) {
      if (!alive(i)) start(i);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(
        children.map(async (c, i) => {
          if (!c?.pid || !alive(i)) return;
          // A clean exit first (a member run with --cpu-prof writes its profile then).
          c.kill('SIGTERM');
          if (await waitGone(c.pid, STOP_GRACE_MS)) return;
          c.kill('SIGKILL');
          await waitGone(c.pid);
        }),
      );
      rmSync(root, { recursive: true, force: true });
    },
    killAllSync() {
      for (let i = 0; i < children.length; i++) alive(i)?.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    },
  };
}
