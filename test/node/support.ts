/**
 * In-memory ports for testing the node runtime without disks or sockets: a storage that
 * counts persists, a tiny key-value state machine, and a message hub that can cut links.
 */
import { silentLogger } from '../../src/common/logger.js';
import type { Envelope } from '../../src/node/envelope.js';
import type {
  ApplyPosition,
  NodeStorage,
  PeerTransport,
  PersistBatch,
  StateMachine,
} from '../../src/node/ports.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { type ConfState, MemoryStorage, type Message, type NodeId } from '../../src/raft/index.js';
import { testPrng } from '../raft/harness.js';

/** A NodeStorage that keeps everything in memory and survives a simulated restart. */
export class MemNodeStorage implements NodeStorage {
  readonly raftStorage: MemoryStorage;
  persists = 0;
  smData = new Map<string, string>();
  smApplied = 0;

  constructor(confState: ConfState) {
    this.raftStorage = new MemoryStorage(confState);
  }

  async persist(b: PersistBatch): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.persists++;
    if (b.snapshot) this.raftStorage.applySnapshot(b.snapshot);
    this.raftStorage.append(b.entries);
    if (b.hardState) this.raftStorage.setHardState(b.hardState);
    const writes = b.stateMachineWrites as Map<string, string> | undefined;
    if (writes) for (const [k, v] of writes) this.smData.set(k, v);
    this.smApplied = b.appliedIndex;
  }

  async saveSnapshot(index: number, cs: ConfState, data: Uint8Array, compactIndex: number): Promise<void> {
    this.raftStorage.createSnapshot(index, cs, data);
    this.raftStorage.compact(compactIndex);
  }

  async close(): Promise<void> {}
}

/** A key-value state machine: payload "key=value" sets a key; the result is the apply index. */
export class KvStateMachine implements StateMachine<number> {
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

  takeWrites(): Map<string, string> {
    const w = this.writes;
    this.writes = new Map();
    return w;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.data]));
  }

  restore(index: number, data: Uint8Array): void {
    this.data = new Map(JSON.parse(new TextDecoder().decode(data)) as [string, string][]);
    this.writes = new Map(this.data);
    this.appliedIndex = index;
  }
}

/** Routes messages between in-process nodes, asynchronously, with cuttable links. */
export class Hub {
  readonly nodes = new Map<NodeId, RaftNode<number>>();
  readonly down = new Set<NodeId>();

  transportFor(from: NodeId): PeerTransport {
    return {
      send: (msgs: readonly Message[]) => {
        for (const m of msgs) {
          setImmediate(() => {
            if (this.down.has(from) || this.down.has(m.to)) return;
            this.nodes.get(m.to)?.step(m);
          });
        }
      },
      addPeer: () => {},
      removePeer: () => {},
      stop: async () => {},
    };
  }
}

/** A member of an in-process cluster. */
export interface MemMember {
  id: NodeId;
  node: RaftNode<number>;
  storage: MemNodeStorage;
  sm: KvStateMachine;
}

/** Builds and starts an in-process cluster with fast ticks. */
export function startMemCluster(ids: NodeId[], hub = new Hub(), snapshotCount = 1_000_000): MemMember[] {
  const cs = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  return ids.map((id) => {
    const storage = new MemNodeStorage(cs);
    const sm = new KvStateMachine();
    return startMember(hub, id, storage, sm, snapshotCount);
  });
}

/** Starts (or restarts) one member over the given storage and state machine. */
export function startMember(
  hub: Hub,
  id: NodeId,
  storage: MemNodeStorage,
  sm: KvStateMachine,
  snapshotCount = 1_000_000,
): MemMember {
  const node = new RaftNode<number>({
    id,
    storage,
    stateMachine: sm,
    transport: hub.transportFor(id),
    logger: silentLogger(),
    prng: testPrng(id + Date.now()),
    tickIntervalMs: 5,
    electionTimeoutTicks: 10,
    heartbeatIntervalTicks: 1,
    requestTimeoutMs: 3000,
    pendingProposalsMax: 10_000,
    pendingReadsMax: 10_000,
    snapshotCount,
    snapshotCatchUpEntries: 5,
    leaseReads: false,
  });
  hub.nodes.set(id, node);
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
