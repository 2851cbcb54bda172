/**
 * A real cluster for chaos runs: member processes started through cluster/ (the same code
 * path as the end-to-end tests), each dialling its peers through the harness's pair proxies
 * (proxy.ts), with helpers to kill, restart, pause and resume members and to find the
 * leader. Every process it starts is killed on stop(), on process exit and by its owner's
 * signal handlers; nothing outlives the run. Spare members (ports, proxies and names made
 * up front, so every peer path of a member that joins later crosses a proxy too) can be
 * added with MemberAdd and removed again; `names` lists the current members. Each member
 * runs with the slow-disk and clock fault hooks (src/node/fault-hooks.ts) pointed at files
 * the harness writes.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type ServerEntry, spawnMember } from '../../cluster/processes.js';
import { type LocalMember, type LocalTopology, localMember, localTopology } from '../../cluster/topology.js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { CLOCK_OFFSET_FILE_ENV, SYNC_DELAY_FILE_ENV } from '../../src/node/fault-hooks.js';
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
  /** Current members (founding ones first, then those added), in order. */
  private readonly current: string[];
  /** Members started with --initial-cluster-state existing (added after the start). */
  private readonly joined = new Set<string>();
  /** Members removed from the cluster: their process exits on its own, as expected. */
  private readonly retired = new Set<string>();

  private constructor(
    readonly topology: LocalTopology,
    /** Spare members: not in the cluster until added. */
    private readonly spares: readonly LocalMember[],
    readonly network: PeerNetwork,
    private readonly flags: readonly string[],
    private readonly entry: ServerEntry,
  ) {
    this.current = topology.members.map((m) => m.name);
    mkdirSync(join(topology.rootDir, 'faults'), { recursive: true });
  }

  /**
   * Starts `size` members on free ports, every peer path (spares' too) through a proxy;
   * members run `entry` (compiled or source) whenever they start or restart.
   */
  static async start(
    size: number,
    flags: readonly string[],
    spareCount: number,
    entry: ServerEntry,
  ): Promise<ChaosCluster> {
    const ports = await freePorts(2 * (size + spareCount));
    const memberPorts = Array.from({ length: size + spareCount }, (_, i) => ({
      client: ports[2 * i]!,
      peer: ports[2 * i + 1]!,
    }));
    const root = mkdtempSync(join(tmpdir(), 'cairn-chaos-'));
    const topology = localTopology(
      root,
      memberPorts.slice(0, size),
      `cairn-chaos-${process.pid}-${Date.now()}`,
    );
    const spares = memberPorts.slice(size).map((p, i) => localMember(root, `n${size + i + 1}`, p));
    const all = [...topology.members, ...spares];
    const network = new PeerNetwork(new Map(all.map((m) => [m.name, m.peerPort])));
    await network.start();
    const c = new ChaosCluster(topology, spares, network, flags, entry);
    for (const m of topology.members) c.startMember(m.name);
    return c;
  }

  /** Current member names, in order. */
  get names(): string[] {
    return [...this.current];
  }

  /** Spare members not in the cluster now (never added, or removed). */
  get spareNames(): string[] {
    return [...this.topology.members, ...this.spares]
      .map((m) => m.name)
      .filter((n) => !this.current.includes(n));
  }

  /** The member (current or spare) with this name. */
  member(name: string): LocalMember {
    const m = [...this.topology.members, ...this.spares].find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** Makes a member's disk slow: every synced write waits delayMs first (0 heals). */
  setSyncDelay(name: string, delayMs: number): void {
    writeFileSync(this.faultFile(name, 'sync-delay'), String(delayMs));
  }

  /** Shifts a member's wall clock (Date.now) by offsetMs (0 heals). */
  setClockOffset(name: string, offsetMs: number): void {
    writeFileSync(this.faultFile(name, 'clock-offset'), String(offsetMs));
  }

  /** Heals every member's disk and clock. */
  healHostFaults(): void {
    for (const m of [...this.topology.members, ...this.spares]) {
      this.setSyncDelay(m.name, 0);
      this.setClockOffset(m.name, 0);
    }
  }

  private faultFile(name: string, kind: 'sync-delay' | 'clock-offset'): string {
    return join(this.topology.rootDir, 'faults', `${name}.${kind}`);
  }

  /**
   * Adds a spare member as a learner (MemberAdd through a current member), starts it with
   * --initial-cluster-state existing on an empty data folder, and returns its member id.
   */
  async addLearner(name: string, timeoutMs: number): Promise<number> {
    if (this.current.includes(name)) throw new Error(`${name} is a member already`);
    const m = this.member(name);
    // A fresh data folder (a removed member may come back: it joins as a new member).
    rmSync(join(m.dataDir, 'data'), { recursive: true, force: true });
    const r = await this.clusterCall<{ member: { ID: number } }>(
      'MemberAdd',
      { peerURLs: [m.peerUrl], isLearner: true },
      timeoutMs,
    );
    this.current.push(name);
    this.joined.add(name);
    this.retired.delete(name);
    this.startMember(name);
    return r.member.ID;
  }

  /** Promotes a learner to voter. */
  async promote(id: number, timeoutMs: number): Promise<void> {
    await this.clusterCall('MemberPromote', { ID: id }, timeoutMs);
  }

  /** Removes a member (MemberRemove through another one), then waits for its process to end. */
  async removeMember(name: string, id: number, timeoutMs: number): Promise<void> {
    await this.clusterCall('MemberRemove', { ID: id }, timeoutMs, name);
    this.current.splice(this.current.indexOf(name), 1);
    this.retired.add(name);
    const p = this.processes.get(name);
    if (p) {
      const until = Date.now() + 10_000;
      while (this.processes.get(name) === p && Date.now() < until) await sleep(100);
      await this.kill(name);
    }
  }

  /** The members as MemberList answers them: id, name (empty until started) and learner flag by peer URL. */
  async memberList(timeoutMs: number): Promise<{ id: number; peerUrl: string; isLearner: boolean }[]> {
    const r = await this.clusterCall<{ members: { ID: number; peerURLs: string[]; isLearner: boolean }[] }>(
      'MemberList',
      { linearizable: true },
      timeoutMs,
    );
    return r.members.map((m) => ({
      id: m.ID,
      peerUrl: m.peerURLs[0] ?? '',
      isLearner: m.isLearner === true,
    }));
  }

  /** A Cluster-service call through the first current member (other than `avoid`) that answers. */
  private async clusterCall<T>(method: string, req: object, timeoutMs: number, avoid?: string): Promise<T> {
    const { Cluster } = etcdServices();
    let last: Error = new Error('no member to ask');
    for (const n of this.current) {
      if (n === avoid || !this.processes.has(n) || this.paused.has(n)) continue;
      const client = new Cluster(`127.0.0.1:${this.member(n).clientPort}`, grpc.credentials.createInsecure());
      try {
        return await call<T>(client, method, req, timeoutMs);
      } catch (err) {
        last = err as Error;
      } finally {
        client.close();
      }
    }
    throw last;
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
    const existing = this.current.map((n) => this.member(n));
    const child = spawnMember(this.topology, m, {
      entry: this.entry,
      detached: false,
      extraFlags: this.flags,
      ...(this.joined.has(name) ? { join: { existing } } : {}),
      env: {
        [PEER_DIAL_ENV]: JSON.stringify(table),
        [SYNC_DELAY_FILE_ENV]: this.faultFile(name, 'sync-delay'),
        [CLOCK_OFFSET_FILE_ENV]: this.faultFile(name, 'clock-offset'),
      },
    });
    const log = createWriteStream(join(m.dataDir, 'member.log'), { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    allChildren.add(child);
    this.processes.set(name, child);
    child.once('exit', (code, signal) => {
      allChildren.delete(child);
      if (!this.killing.delete(child) && !this.retired.has(name))
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
