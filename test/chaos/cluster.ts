/**
 * A real cluster for chaos runs: member processes started through cluster/ (the same code
 * path as the end-to-end tests), each dialling its peers through the harness's pair proxies
 * (proxy.ts), with helpers to kill, restart, pause and resume members and to find the
 * leader. Every process it starts is killed on stop(), on process exit and by its owner's
 * signal handlers; nothing outlives the run.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { spawnMember } from '../../cluster/processes.js';
import { type LocalMember, type LocalTopology, localTopology } from '../../cluster/topology.js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { PEER_DIAL_ENV } from '../../src/transport/dial-redirect.js';
import { freePorts } from '../support/ports.js';
import { PeerNetwork } from './proxy.js';

/** Every member process started by any chaos cluster in this process, killed at exit. */
const allChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of allChildren) {
    try {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    } catch {}
  }
});

/** A member's Maintenance.Status, as much of it as the harness needs. */
export interface MemberStatus {
  readonly memberId: number;
  readonly leader: number;
  readonly revision: number;
  readonly raftIndex: number;
  readonly raftAppliedIndex: number;
}

type Unary = (
  req: object,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r: never) => void,
) => void;

/** Calls a unary method with a deadline. */
export function call<T>(client: grpc.Client, method: string, req: object, timeoutMs: number): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
  return new Promise((resolve, reject) => {
    fn(req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as T)));
  });
}

/** A running chaos cluster. */
export class ChaosCluster {
  private readonly processes = new Map<string, ChildProcess>();
  private readonly paused = new Set<string>();
  private readonly maintenance = new Map<string, grpc.Client>();
  /** Processes this harness is killing: their exit is expected. */
  private readonly killing = new Set<ChildProcess>();
  /** Members that exited on their own (a crash or a failed assertion), with how. */
  readonly crashes: string[] = [];
  private stopped = false;

  private constructor(
    readonly topology: LocalTopology,
    readonly network: PeerNetwork,
    private readonly flags: readonly string[],
  ) {}

  /** Starts `size` members on free ports, every peer path through a proxy. */
  static async start(size: number, flags: readonly string[]): Promise<ChaosCluster> {
    const ports = await freePorts(2 * size);
    const memberPorts = Array.from({ length: size }, (_, i) => ({
      client: ports[2 * i]!,
      peer: ports[2 * i + 1]!,
    }));
    const root = mkdtempSync(join(tmpdir(), 'cairn-chaos-'));
    const topology = localTopology(root, memberPorts, `cairn-chaos-${process.pid}-${Date.now()}`);
    const network = new PeerNetwork(new Map(topology.members.map((m) => [m.name, m.peerPort])));
    await network.start();
    const c = new ChaosCluster(topology, network, flags);
    for (const m of topology.members) c.startMember(m.name);
    return c;
  }

  /** Member names, in order. */
  get names(): string[] {
    return this.topology.members.map((m) => m.name);
  }

  /** The member with this name. */
  member(name: string): LocalMember {
    const m = this.topology.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** Whether the member's process runs (paused or not). */
  isRunning(name: string): boolean {
    return this.processes.has(name);
  }

  /** Whether the member is paused with SIGSTOP. */
  isPaused(name: string): boolean {
    return this.paused.has(name);
  }

  /** Starts (or restarts) a member; its output goes to member.log in its data folder. */
  startMember(name: string): void {
    if (this.stopped || this.processes.has(name)) return;
    const m = this.member(name);
    const table = this.network.dialTable(name, (n) => this.member(n).peerUrl);
    const child = spawnMember(this.topology, m, {
      entry: 'source',
      detached: false,
      extraFlags: this.flags,
      env: { [PEER_DIAL_ENV]: JSON.stringify(table) },
    });
    const log = createWriteStream(join(m.dataDir, 'member.log'), { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    allChildren.add(child);
    this.processes.set(name, child);
    child.once('exit', (code, signal) => {
      allChildren.delete(child);
      if (!this.killing.delete(child))
        this.crashes.push(
          `${name} exited on its own (code ${code}, signal ${signal}; see ${join(m.dataDir, 'member.log')})`,
        );
      if (this.processes.get(name) === child) {
        this.processes.delete(name);
        this.paused.delete(name);
      }
    });
  }

  /** Kills a member with SIGKILL and waits for it to exit. */
  async kill(name: string): Promise<void> {
    const p = this.processes.get(name);
    if (!p) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    this.killing.add(p);
    p.kill('SIGKILL');
    if (this.paused.has(name)) p.kill('SIGCONT');
    await exited;
    this.processes.delete(name);
    this.paused.delete(name);
  }

  /** Freezes a member with SIGSTOP. */
  pause(name: string): void {
    const p = this.processes.get(name);
    if (!p || this.paused.has(name)) return;
    p.kill('SIGSTOP');
    this.paused.add(name);
  }

  /** Resumes a member frozen with SIGSTOP. */
  resume(name: string): void {
    const p = this.processes.get(name);
    if (!p || !this.paused.has(name)) return;
    p.kill('SIGCONT');
    this.paused.delete(name);
  }

  /** A Maintenance client for a member (cached). */
  private maintenanceOf(name: string): grpc.Client {
    let c = this.maintenance.get(name);
    if (!c) {
      const { Maintenance } = etcdServices();
      c = new Maintenance(`127.0.0.1:${this.member(name).clientPort}`, grpc.credentials.createInsecure());
      this.maintenance.set(name, c);
    }
    return c;
  }

  /** A member's status, or undefined if it does not answer within timeoutMs. */
  async status(name: string, timeoutMs = 500): Promise<MemberStatus | undefined> {
    if (!this.processes.has(name) || this.paused.has(name)) return undefined;
    try {
      const s = await call<{
        header: { member_id: number; revision: number };
        leader: number;
        raftIndex: number;
        raftAppliedIndex: number;
      }>(this.maintenanceOf(name), 'Status', {}, timeoutMs);
      return {
        memberId: s.header.member_id,
        leader: s.leader,
        revision: s.header.revision,
        raftIndex: s.raftIndex,
        raftAppliedIndex: s.raftAppliedIndex,
      };
    } catch {
      return undefined;
    }
  }

  /** The member that reports itself leader now, if any answers so. */
  async leader(): Promise<string | undefined> {
    const found = await Promise.all(this.names.map(async (n) => ({ n, s: await this.status(n) })));
    return found.find((x) => x.s !== undefined && x.s.leader !== 0 && x.s.leader === x.s.memberId)?.n;
  }

  /** Waits until some member leads; undefined after timeoutMs. */
  async waitForLeader(timeoutMs: number): Promise<string | undefined> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && !this.stopped) {
      const l = await this.leader();
      if (l !== undefined) return l;
      await sleep(100);
    }
    return undefined;
  }

  /** HashKV of a member at a revision. */
  async hashKv(
    name: string,
    revision: number,
    timeoutMs = 5000,
  ): Promise<{ hash: number; revision: number }> {
    const r = await call<{ hash: number; header: { revision: number } }>(
      this.maintenanceOf(name),
      'HashKV',
      { revision },
      timeoutMs,
    );
    return { hash: r.hash, revision: r.header.revision };
  }

  /** Kills every member, closes the proxies and removes the data folder (kept when keepData). */
  async stop(keepData = false): Promise<void> {
    this.stopped = true;
    for (const name of [...this.processes.keys()]) await this.kill(name);
    for (const c of this.maintenance.values()) c.close();
    this.maintenance.clear();
    await this.network.close();
    if (!keepData) rmSync(this.topology.rootDir, { recursive: true, force: true });
  }
}

/** Waits ms milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
