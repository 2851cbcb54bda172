/**
 * A small deterministic cluster for unit tests of the raft core: real RawNodes over
 * MemoryStorage, a message queue the test can filter, drop or hold, and helpers to run
 * the Ready loop to quiescence. The simulator (test/sim) is the randomized counterpart.
 */
import {
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  type MessageType,
  type NodeId,
  type RaftConfig,
  RawNode,
  type ReadState,
  Role,
} from '../../src/raft/index.js';

/** A PRNG for tests: deterministic per seed (splitmix-style). */
export function testPrng(seed: number): { nextInt(n: number): number } {
  let s = seed >>> 0 || 1;
  return {
    nextInt(n: number): number {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (((t ^ (t >>> 14)) >>> 0) % n) | 0;
    },
  };
}

/** One member under test: its node, its storage and what it applied. */
export interface TestMember {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
  confState: ConfState;
  /** Config overrides of this member, kept for restarts. */
  extra: Partial<RaftConfig>;
}

/** Decides for each message whether it is delivered (true), dropped (false). */
export type MessageFilter = (m: Message) => boolean;

/** A cluster of RawNodes with a controllable network. */
export class TestCluster {
  readonly members = new Map<NodeId, TestMember>();
  /** Messages sent but not yet delivered. */
  queue: Message[] = [];
  filters: MessageFilter[] = [];
  /** Rewrites applied to delivered messages (e.g. to strip entries in flight). */
  rewriters: ((m: Message) => Message)[] = [];
  /** Every message ever sent, for assertions. */
  sent: Message[] = [];

  constructor(
    voters: NodeId[],
    private readonly overrides: Partial<RaftConfig> = {},
    learners: NodeId[] = [],
  ) {
    for (const id of [...voters, ...learners])
      this.addMember(id, { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false });
    // Founding members apply their bootstrap entries (the founding configuration) first.
    this.processReady();
  }

  /** Adds a member with the given initial configuration (empty for a node joining later). */
  addMember(id: NodeId, confState: ConfState, extra: Partial<RaftConfig> = {}): TestMember {
    const storage = new MemoryStorage(confState);
    const m: TestMember = {
      id,
      node: this.newNode(id, storage, extra),
      storage,
      applied: [],
      readStates: [],
      confState,
      extra,
    };
    this.members.set(id, m);
    return m;
  }

  private newNode(id: NodeId, storage: MemoryStorage, extra: Partial<RaftConfig>): RawNode {
    return new RawNode({
      id,
      storage,
      electionTimeoutTicks: 10,
      heartbeatIntervalTicks: 1,
      prng: testPrng(id * 7919),
      checkQuorum: true,
      preVote: true,
      ...this.overrides,
      ...extra,
    });
  }

  /** Crashes and restarts a member from what it persisted; its state machine is rebuilt by replay. */
  restart(id: NodeId): void {
    const m = this.get(id);
    this.queue = this.queue.filter((msg) => msg.to !== id && msg.from !== id);
    m.node = this.newNode(id, m.storage, m.extra);
    m.applied = [];
    m.readStates = [];
    m.confState = m.storage.snapshot().metadata.confState;
    this.processReady();
  }

  /** The member with this id. */
  get(id: NodeId): TestMember {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  /** Runs every member's Ready loop once: persist, collect messages, apply. */
  processReady(): boolean {
    let any = false;
    for (const m of this.members.values()) {
      while (m.node.hasReady()) {
        any = true;
        const rd = m.node.ready();
        if (rd.snapshot) {
          m.storage.applySnapshot(rd.snapshot);
          m.confState = rd.snapshot.metadata.confState;
        }
        m.storage.append(rd.entries);
        if (rd.hardState) m.storage.setHardState(rd.hardState);
        for (const msg of rd.messages) {
          this.sent.push(msg);
          this.queue.push(msg);
        }
        for (const e of rd.committedEntries) {
          if (e.type === EntryType.ConfChange) m.confState = m.node.applyConfChange(decodeConfChange(e.data));
          m.applied.push(e);
        }
        m.readStates.push(...rd.readStates);
        m.node.advance(rd);
      }
    }
    return any;
  }

  /** Processes Readies, then delivers what was queued (subject to filters); returns whether anything moved. */
  deliverOnce(): boolean {
    const moved = this.processReady();
    const batch = this.queue;
    this.queue = [];
    for (const sent of batch) {
      if (!this.filters.every((f) => f(sent))) continue;
      const msg = this.rewriters.reduce((m, r) => r(m), sent);
      const to = this.members.get(msg.to);
      if (to) to.node.step(msg);
    }
    return moved || batch.length > 0;
  }

  /** Delivers queued messages (subject to filters) and processes Readies until nothing moves. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      if (!this.deliverOnce()) return;
    }
    throw new Error('cluster did not stabilize');
  }

  /** Ticks every member n times, stabilizing after each tick. */
  tick(n = 1, only?: NodeId[]): void {
    for (let i = 0; i < n; i++) {
      for (const m of this.members.values()) if (!only || only.includes(m.id)) m.node.tick();
      this.stabilize();
    }
  }

  /** Makes `id` campaign and stabilizes; returns its role afterwards. */
  elect(id: NodeId): Role {
    this.get(id).node.campaign();
    this.stabilize();
    return this.get(id).node.status().role;
  }

  /** The single leader among members, if exactly one claims the highest term's leadership. */
  leader(): TestMember | undefined {
    let best: TestMember | undefined;
    for (const m of this.members.values()) {
      const st = m.node.status();
      if (st.role === Role.Leader && (!best || st.term > best.node.status().term)) best = m;
    }
    return best;
  }

  /** Drops every message between the two groups (both directions). */
  partition(a: NodeId[], b: NodeId[]): MessageFilter {
    const f: MessageFilter = (m) =>
      !((a.includes(m.from) && b.includes(m.to)) || (b.includes(m.from) && a.includes(m.to)));
    this.filters.push(f);
    return f;
  }

  /** Isolates one member from everyone. */
  isolate(id: NodeId): MessageFilter {
    const f: MessageFilter = (m) => m.from !== id && m.to !== id;
    this.filters.push(f);
    return f;
  }

  /** Removes every filter and rewriter. */
  heal(): void {
    this.filters = [];
    this.rewriters = [];
  }

  /** The data of every non-empty normal entry a member applied, as strings. */
  appliedData(id: NodeId): string[] {
    return this.get(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  /** Messages of a type that were sent. */
  sentOf(type: MessageType): Message[] {
    return this.sent.filter((m) => m.type === type);
  }
}

/** Encodes a string as proposal data. */
export function data(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
