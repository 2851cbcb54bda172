/**
 * In-memory ports for testing the node runtime without disks or sockets: a storage that
 * counts persists, a tiny key-value state machine, and a message hub that can cut links.
 */
import { isCairnError } from '../../src/common/errors.js';
import { eagerBytes, type LazyBytes } from '../../src/common/lazy-bytes.js';
import { silentLogger } from '../../src/common/logger.js';
import type { Envelope } from '../../src/node/envelope.js';
import type { ApplyPosition, NodeStorage, PersistBatch, StateMachine } from '../../src/node/ports.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { type ConfState, MemoryStorage, type NodeId } from '../../src/raft/index.js';
import { MemoryTransportHub } from '../../src/transport/memory-transport.js';
import { testPrng } from '../raft/harness.js';

/** A NodeStorage that keeps everything in memory and survives a simulated restart. */
export class MemNodeStorage implements NodeStorage {
  readonly raftStorage: MemoryStorage;
  persists = 0;
  /** Every batch of state-machine writes persisted, in order (opaque here). */
  smWrites: unknown[] = [];
  smApplied = 0;

  constructor(confState: ConfState) {
    this.raftStorage = new MemoryStorage(confState);
  }

  async persist(b: PersistBatch): Promise<void> {
    if (b.snapshot)
      this.raftStorage.applySnapshot({ metadata: b.snapshot.metadata, data: new Uint8Array(0) });
    this.raftStorage.append(b.entries);
    if (b.hardState) this.raftStorage.setHardState(b.hardState);
    await new Promise((r) => setImmediate(r));
    this.persists++;
    if (b.stateMachineWrites !== undefined) this.smWrites.push(b.stateMachineWrites);
    this.smApplied = b.appliedIndex;
  }

  async saveSnapshot(index: number, cs: ConfState, compactIndex: number): Promise<void> {
    this.raftStorage.createSnapshot(index, cs, new Uint8Array(0));
    this.raftStorage.compact(compactIndex);
  }

  async close(): Promise<void> {}
}

/** A toy state machine: payload "key=value" sets a key; the result is the apply index. */
export class TextStateMachine implements StateMachine<number> {
  appliedIndex = 0;
  data = new Map<string, string>();
  private writes = new Map<string, string>();

  apply(pos: ApplyPosition, env: Envelope): number {
    const [k, v] = new TextDecoder().decode(env.payload).split('=');
    this.data.set(k!, v!);
    this.writes.set(k!, v!);
    this.appliedIndex = pos.index;
    return pos.index;
  }

  skip(pos: ApplyPosition): void {
    this.appliedIndex = pos.index;
  }

  takeWrites(): Map<string, string> | undefined {
    if (this.writes.size === 0) return undefined;
    const w = this.writes;
    this.writes = new Map();
    return w;
  }

  snapshot(): LazyBytes {
    return eagerBytes(new TextEncoder().encode(JSON.stringify([...this.data])));
  }

  restore(index: number, data: Uint8Array): void {
    this.data = new Map(JSON.parse(new TextDecoder().decode(data)) as [string, string][]);
    this.writes = new Map(this.data);
    this.appliedIndex = index;
  }
}

/** The in-memory transport hub, with the nodes registered on it. */
export class Hub extends MemoryTransportHub {
  // biome-ignore lint/suspicious/noExplicitAny: nodes of any result type share one hub
  readonly nodes = new Map<NodeId, RaftNode<any>>();

  // biome-ignore lint/suspicious/noExplicitAny: nodes of any result type share one hub
  attach(id: NodeId, node: RaftNode<any>): void {
    this.nodes.set(id, node);
    this.register(id, { onMessage: (m) => node.step(m), onDropped: (m) => node.reportDropped(m) });
  }
}

/** A member of an in-process cluster. */
export interface MemMember<R = number, S extends StateMachine<R> = TextStateMachine & StateMachine<R>> {
  id: NodeId;
  node: RaftNode<R>;
  storage: MemNodeStorage;
  sm: S;
}

/** Builds and starts an in-process cluster with fast ticks, over the toy state machine. */
export function startMemCluster(
  ids: NodeId[],
  hub = new Hub(),
  snapshotCount = 1_000_000,
  snapshotLogBytes?: number,
  leaseReads = false,
): MemMember[] {
  return startClusterWith(
    ids,
    () => new TextStateMachine(),
    hub,
    snapshotCount,
    snapshotLogBytes,
    leaseReads,
  ) as MemMember[];
}

/** Builds and starts an in-process cluster over state machines made by `makeSm`. */
export function startClusterWith<R, S extends StateMachine<R>>(
  ids: NodeId[],
  makeSm: () => S,
  hub = new Hub(),
  snapshotCount = 1_000_000,
  snapshotLogBytes?: number,
  leaseReads = false,
): MemMember<R, S>[] {
  const cs = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  return ids.map((id) =>
    startMember(
      hub,
      id,
      new MemNodeStorage(cs),
      makeSm(),
      snapshotCount,
      undefined,
      snapshotLogBytes,
      leaseReads,
    ),
  );
}

/** Starts (or restarts) one member over the given storage and state machine. */
export function startMember<R, S extends StateMachine<R>>(
  hub: Hub,
  id: NodeId,
  storage: MemNodeStorage,
  sm: S,
  snapshotCount = 1_000_000,
  prngSeed = id + Date.now(),
  snapshotLogBytes?: number,
  leaseReads = false,
  tickPhaseMs = 0,
  startLoading = false,
): MemMember<R, S> {
  const node = new RaftNode<R>({
    id,
    storage,
    stateMachine: sm,
    transport: hub.transportFor(id),
    logger: silentLogger(),
    prng: testPrng(prngSeed),
    tickIntervalMs: 5,
    // 0 by default: in step with the fake interval timers some tests tick by.
    tickPhaseMs,
    electionTimeoutTicks: 10,
    heartbeatIntervalTicks: 1,
    requestTimeoutMs: 3000,
    pendingProposalsMax: 10_000,
    pendingReadsMax: 10_000,
    snapshotCount,
    snapshotCatchUpEntries: 5,
    ...(snapshotLogBytes !== undefined ? { snapshotLogBytes } : {}),
    leaseReads,
    startLoading,
  });
  hub.attach(id, node);
  node.start();
  return { id, node, storage, sm };
}

/** Polls until fn returns a value (not undefined), or fails after the deadline. */
export async function eventually<T>(fn: () => T | undefined, what: string, deadlineMs = 10_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs fn until it stops failing with a retriable error (e.g. NO_LEADER right after an election). */
export async function retryRetriable<T>(fn: () => Promise<T>, deadlineMs = 10_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isCairnError(err) || !err.retriable || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
