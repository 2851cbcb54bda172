/**
 * The simulated world: real RawNodes over a simulated network (delay, loss, duplication,
 * reordering, partitions) and a simulated disk (a Ready's write becomes durable only at a
 * later sync event; a crash before it loses the write), driven by a time-ordered event
 * queue. Checkers run after every event. Everything is decided by the seeded PRNG.
 */
import { createHash } from 'node:crypto';
import {
  ConfChangeType,
  type ConfState,
  decodeConfChange,
  EntryType,
  leaderMaySendBeforePersist,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  RawNode,
  ReadOnlyOption,
  type Ready,
  Role,
} from '../../src/raft/index.js';
import {
  ElectionSafety,
  LeaderAppendOnly,
  LeaderCompleteness,
  LinearizableReads,
  LogMatching,
  StateMachineSafety,
  type Violation,
} from './checkers.js';
import type { SimPrng } from './prng.js';

/** Settings of one simulated run, drawn from the seed. */
export interface WorldOptions {
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly messageSizeBytesMax: number;
  readonly inflightMessagesMax: number;
  readonly brokenCommitRule: boolean;
  /** Lease-based reads instead of ReadIndex rounds (needs checkQuorum). */
  readonly leaseReads: boolean;
  /** Probabilities of network faults per message. */
  dropRate: number;
  duplicateRate: number;
  /** Maximum message delay, in micro-time units (a tick is TICK_UNITS). */
  maxDelayUnits: number;
}

/** Micro-time units per tick: messages and syncs take fractions of a tick. */
export const TICK_UNITS = 10;

/** The state machine of a simulated node: the set of write ids applied, in order. */
interface SimStateMachine {
  writes: string[];
  has: Set<string>;
  appliedIndex: number;
}

/** A simulated member: its durable disk survives crashes; everything else does not. */
export interface SimNode {
  readonly id: NodeId;
  /** The durable disk: entries, hard state and snapshot that were synced. */
  readonly disk: MemoryStorage;
  raw: RawNode | undefined;
  /** Increases at every restart; events of an older incarnation are ignored. */
  incarnation: number;
  /** The Ready taken but not yet synced (the leader may already have sent its messages). */
  pending: PendingWrite | undefined;
  sm: SimStateMachine;
  /** ReadIndex reads waiting for their ReadState or for apply. */
  reads: Map<string, { mark: number; index?: number }>;
  wasLeaderTerm: number;
  /** Set once its removal committed: at which index, and who remained voters. */
  removal: { index: number; remainingVoters: readonly NodeId[] } | undefined;
  /** Stopped for good after its removal. */
  retired: boolean;
}

/** A Ready whose write is in flight to the simulated disk. */
interface PendingWrite {
  readonly rd: Ready;
  /** Whether its messages already went out (a leader whose term is durable). */
  readonly sentEarly: boolean;
  /** The term of the entry before its first entry, as of when it was taken (-1 if unknown). */
  readonly prevTerm: number;
}

type SimEvent =
  | { kind: 'deliver'; msg: Message }
  | { kind: 'sync'; node: NodeId; incarnation: number }
  | { kind: 'tick'; node: NodeId; incarnation: number }
  | { kind: 'snapFailed'; msg: Message }
  | { kind: 'crash'; node: NodeId; incarnation: number };

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly ev: SimEvent;
}

function content(data: Uint8Array, type: EntryType): string {
  if (type === EntryType.ConfChange) return `cc:${Array.from(data).join('.')}`;
  return data.byteLength === 0 ? 'noop' : new TextDecoder().decode(data);
}

/** The whole simulated cluster plus its checkers. */
export class World {
  readonly nodes = new Map<NodeId, SimNode>();
  now = 0;
  steps = 0;
  private seq = 0;
  private queue: Scheduled[] = [];
  /** Directed links that drop everything: "from>to". */
  readonly blocked = new Set<string>();
  readonly violations: Violation[] = [];
  /** Cleared when the run heals: faults scheduled earlier no longer fire. */
  faultsEnabled = true;
  readonly trace: string[] | undefined;

  readonly electionSafety = new ElectionSafety();
  readonly appendOnly = new LeaderAppendOnly();
  readonly logMatching = new LogMatching();
  readonly sms = new StateMachineSafety();
  readonly completeness = new LeaderCompleteness(this.sms);
  readonly reads = new LinearizableReads();

  constructor(
    readonly prng: SimPrng,
    readonly opts: WorldOptions,
    tracing: boolean,
  ) {
    this.trace = tracing ? [] : undefined;
  }

  /** Records a line of the readable trace (only when tracing). */
  log(line: () => string): void {
    if (this.trace) this.trace.push(`${String(this.now).padStart(6)} ${line()}`);
  }

  private schedule(delay: number, ev: SimEvent): void {
    const item = { at: this.now + delay, seq: this.seq++, ev };
    // Binary insertion keeps the queue ordered by (time, seq).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.at < item.at || (q.at === item.at && q.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  /** Creates a member; founding members get the founding configuration, joiners an empty one. */
  addNode(id: NodeId, founding: ConfState | undefined): SimNode {
    const disk = new MemoryStorage(founding);
    const n: SimNode = {
      id,
      disk,
      raw: undefined,
      incarnation: 0,
      pending: undefined,
      sm: { writes: [], has: new Set(), appliedIndex: 0 },
      reads: new Map(),
      wasLeaderTerm: 0,
      removal: undefined,
      retired: false,
    };
    this.nodes.set(id, n);
    this.boot(n);
    return n;
  }

  private boot(n: SimNode): void {
    n.incarnation++;
    n.pending = undefined;
    n.reads = new Map();
    n.wasLeaderTerm = 0;
    // The state machine restarts from the snapshot on disk; raft redelivers what follows it.
    const snap = n.disk.snapshot();
    const writes =
      snap.data.byteLength > 0 ? (JSON.parse(new TextDecoder().decode(snap.data)) as string[]) : [];
    n.sm = { writes, has: new Set(writes), appliedIndex: snap.metadata.index };
    n.raw = new RawNode({
      id: n.id,
      storage: n.disk,
      electionTimeoutTicks: 10,
      heartbeatIntervalTicks: 1,
      prng: this.prng.fork(),
      checkQuorum: this.opts.checkQuorum,
      preVote: this.opts.preVote,
      messageSizeBytesMax: this.opts.messageSizeBytesMax,
      inflightMessagesMax: this.opts.inflightMessagesMax,
      uncommittedSizeBytesMax: 1 << 20,
      testOnlyBrokenCommitRule: this.opts.brokenCommitRule,
      readOnlyOption: this.opts.leaseReads ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
    });
    this.schedule(1 + this.prng.nextInt(TICK_UNITS), {
      kind: 'tick',
      node: n.id,
      incarnation: n.incarnation,
    });
    this.afterEvent(n);
  }

  /** Crashes a member: it loses its unsynced Ready and all volatile state. */
  crash(id: NodeId): void {
    const n = this.nodes.get(id);
    if (!n?.raw) return;
    this.log(() => `crash ${id}${n.pending ? ' (losing an unsynced write)' : ''}`);
    n.raw = undefined;
    n.pending = undefined;
    n.reads.clear();
  }

  private inConfig(cs: ConfState, id: NodeId): boolean {
    return [...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext].includes(id);
  }

  /**
   * Marks a member removed at `index`. It stops for good once every remaining voter has
   * durably learned that the removal committed (then they refuse it, as etcd's peers do),
   * and once it has handed leadership over and sent what it still had to send. Before that
   * it may be the only one able to tell a voter that the removal committed.
   */
  retireSoon(id: NodeId, index: number, remainingVoters: readonly NodeId[]): void {
    const n = this.nodes.get(id);
    if (!n || n.retired || n.removal) return;
    n.removal = { index, remainingVoters };
    this.maybeRetire(n);
  }

  private maybeRetire(n: SimNode): void {
    if (!n.removal || n.retired) return;
    const { index, remainingVoters } = n.removal;
    if (
      !remainingVoters.every((v) => (this.nodes.get(v)?.disk.initialState().hardState.commit ?? 0) >= index)
    )
      return;
    if (n.raw && (n.raw.status().role === Role.Leader || n.pending || n.raw.hasReady())) return;
    this.log(() => `retire ${n.id} (removed from the configuration)`);
    n.retired = true;
    this.crash(n.id);
  }

  /** Crashes a member a little later (mid-replication), if it has not restarted meanwhile. */
  crashSoon(id: NodeId, delayUnits: number): void {
    const n = this.nodes.get(id);
    if (n?.raw) this.schedule(delayUnits, { kind: 'crash', node: id, incarnation: n.incarnation });
  }

  /** Restarts a crashed member from its disk. */
  restart(id: NodeId): void {
    const n = this.nodes.get(id);
    if (!n || n.raw || n.retired) return;
    this.log(() => `restart ${id}`);
    this.boot(n);
  }

  /** Live members. */
  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.raw !== undefined);
  }

  /** The live member that leads the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.live()) {
      const st = n.raw!.status();
      if (st.role === Role.Leader && (!best || st.term > best.raw!.status().term)) best = n;
    }
    return best;
  }

  /** The transport tells the sender whether a snapshot arrived (as the real one does). */
  private reportSnapshotToSender(m: Message, ok: boolean): void {
    const sender = this.nodes.get(m.from);
    if (!sender?.raw) return;
    sender.raw.reportSnapshot(m.to, ok);
    this.afterEvent(sender);
  }

  /**
   * A snapshot is sent as the sender's current applied state, not raft's last stored
   * snapshot (as etcd does): the stored one may predate the recipient joining the
   * configuration, and the recipient would refuse it forever.
   */
  private freshSnapshot(m: Message): Message {
    const n = this.nodes.get(m.from)!;
    const raw = n.raw!;
    const index = n.sm.appliedIndex;
    const data = new TextEncoder().encode(JSON.stringify(n.sm.writes));
    return {
      ...m,
      snapshot: { metadata: { index, term: raw.termAt(index), confState: raw.status().config }, data },
    };
  }

  private send(sent: readonly Message[]): void {
    for (const original of sent) {
      const m = original.type === MessageType.Snap ? this.freshSnapshot(original) : original;
      if (this.blocked.has(`${m.from}>${m.to}`) || this.prng.chance(this.opts.dropRate)) {
        this.log(() => `drop ${MessageType[m.type]} ${m.from}->${m.to}`);
        if (m.type === MessageType.Snap) this.schedule(1, { kind: 'snapFailed', msg: m });
        continue;
      }
      const copies = this.prng.chance(this.opts.duplicateRate) ? 2 : 1;
      for (let i = 0; i < copies; i++)
        this.schedule(1 + this.prng.nextInt(this.opts.maxDelayUnits), { kind: 'deliver', msg: m });
    }
  }

  /** Runs events until `until` (micro-time), checking after every one. */
  runUntil(until: number): void {
    while (this.queue.length > 0 && this.queue[0]!.at <= until) {
      const { at, ev } = this.queue.shift()!;
      this.now = at;
      this.steps++;
      this.handle(ev);
    }
    this.now = until;
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const n = this.nodes.get(ev.node)!;
        if (!n.raw || n.incarnation !== ev.incarnation) return;
        n.raw.tick();
        this.schedule(TICK_UNITS, { kind: 'tick', node: n.id, incarnation: n.incarnation });
        this.afterEvent(n);
        return;
      }
      case 'deliver': {
        const m = ev.msg;
        const n = this.nodes.get(m.to);
        if (!n?.raw || this.blocked.has(`${m.from}>${m.to}`)) {
          if (m.type === MessageType.Snap) this.reportSnapshotToSender(m, false);
          return;
        }
        this.log(
          () =>
            `deliver ${MessageType[m.type]} ${m.from}->${m.to} t${m.term} i${m.index} lt${m.logTerm} c${m.commit} n${m.entries.length}${m.reject ? ' reject' : ''}`,
        );
        n.raw.step(m);
        this.afterEvent(n);
        if (m.type === MessageType.Snap) this.reportSnapshotToSender(m, true);
        return;
      }
      case 'snapFailed':
        this.reportSnapshotToSender(ev.msg, false);
        return;
      case 'crash':
        if (this.faultsEnabled && this.nodes.get(ev.node)?.incarnation === ev.incarnation)
          this.crash(ev.node);
        return;
      case 'sync': {
        const n = this.nodes.get(ev.node)!;
        if (!n.raw || n.incarnation !== ev.incarnation || !n.pending) return;
        this.sync(n, n.pending);
        n.pending = undefined;
        this.afterEvent(n);
        for (const m of this.nodes.values()) if (m.removal && !m.retired) this.maybeRetire(m);
        return;
      }
    }
  }

  /** Takes a Ready if the node has one and none is pending; its write syncs after a random delay. */
  afterEvent(n: SimNode): void {
    this.maybeRetire(n);
    this.observeRoles(n);
    if (!n.raw || n.pending || !n.raw.hasReady()) return;
    const rd = n.raw.ready();
    const sendEarly = leaderMaySendBeforePersist(
      rd,
      n.raw.status().role === Role.Leader,
      n.disk.initialState().hardState,
    );
    if (sendEarly) this.send(rd.messages);
    n.pending = { rd, sentEarly: sendEarly, prevTerm: this.predecessorTerm(n, rd) };
    this.schedule(1 + this.prng.nextInt(TICK_UNITS), {
      kind: 'sync',
      node: n.id,
      incarnation: n.incarnation,
    });
  }

  private sync(n: SimNode, pending: PendingWrite): void {
    const raw = n.raw!;
    const rd = pending.rd;
    if (rd.snapshot) {
      n.disk.applySnapshot(rd.snapshot);
      const writes = JSON.parse(new TextDecoder().decode(rd.snapshot.data)) as string[];
      n.sm = { writes, has: new Set(writes), appliedIndex: rd.snapshot.metadata.index };
      this.log(() => `node ${n.id} installed snapshot @${rd.snapshot!.metadata.index}`);
    }
    this.checkNewEntries(n, rd, pending.prevTerm);
    n.disk.append(rd.entries);
    if (rd.hardState) n.disk.setHardState(rd.hardState);
    if (!pending.sentEarly) this.send(rd.messages);
    for (const e of rd.committedEntries) {
      const c = content(e.data, e.type);
      const v = this.sms.observeApply(n.id, e.index, e.term, c);
      if (v) this.violate(v);
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        let cs: ConfState;
        try {
          cs = raw.applyConfChange(cc);
        } catch (err) {
          throw new Error(
            `node ${n.id} applying conf change @${e.index} (term ${e.term}) with config ${JSON.stringify(raw.status().config)} in a Ready committing ${rd.committedEntries.map((x) => x.index)}: ${(err as Error).message}`,
          );
        }
        // A removed member is stopped once its removal is committed, as etcd's peers refuse
        // it and it shuts down: otherwise, without pre-vote, it would campaign forever.
        for (const c of cc.changes) {
          if (c.type === ConfChangeType.RemoveNode && !this.inConfig(cs, c.nodeId))
            this.retireSoon(c.nodeId, e.index, cs.voters);
        }
        this.log(
          () =>
            `node ${n.id} applied conf change @${e.index}: voters=${cs.voters} out=${cs.votersOutgoing} learners=${cs.learners}`,
        );
      } else if (e.data.byteLength > 0 && e.index > n.sm.appliedIndex) {
        n.sm.writes.push(c);
        n.sm.has.add(c);
        this.reads.observeAck(c);
      }
      n.sm.appliedIndex = Math.max(n.sm.appliedIndex, e.index);
    }
    for (const rs of rd.readStates) {
      const key = new TextDecoder().decode(rs.context);
      const r = n.reads.get(key);
      if (r) r.index = rs.index;
    }
    this.serveReads(n);
    raw.advance(rd);
  }

  private serveReads(n: SimNode): void {
    for (const [key, r] of n.reads) {
      if (r.index === undefined || n.sm.appliedIndex < r.index) continue;
      n.reads.delete(key);
      const v = this.reads.observeRead(n.id, r.mark, (w) => n.sm.has.has(w));
      this.log(() => `read ${key} served by ${n.id} at index ${r.index}`);
      if (v) this.violate(v);
    }
  }

  /** The term of the entry before a Ready's first entry, read when the Ready is taken (-1 if unknown). */
  private predecessorTerm(n: SimNode, rd: Ready): number {
    const first = rd.entries[0];
    if (!first) return -1;
    if (first.index === 1) return 0;
    const t = n.raw!.termAt(first.index - 1);
    return t === 0 ? -1 : t;
  }

  /** Log Matching over entries as they become durable, with their predecessor as of the Ready. */
  private checkNewEntries(n: SimNode, rd: Ready, firstPrevTerm: number): void {
    let prevTerm = firstPrevTerm;
    for (let i = 0; i < rd.entries.length; i++) {
      const e = rd.entries[i]!;
      const v = this.logMatching.observeEntry(n.id, e.index, e.term, content(e.data, e.type), prevTerm);
      if (v) this.violate(v);
      prevTerm = e.term;
    }
  }

  /**
   * The term a member leads, if that term reached its disk. A leadership whose term never did
   * had no effect on anyone (the driver sends nothing before it is durable) and is forgotten
   * by a crash: it counts once durable.
   */
  private durableLeaderTerm(n: SimNode): number | undefined {
    if (!n.raw) return undefined;
    const st = n.raw.status();
    if (st.role !== Role.Leader || n.disk.initialState().hardState.term !== st.term) return undefined;
    return st.term;
  }

  private observeRoles(n: SimNode): void {
    if (this.durableLeaderTerm(n) === undefined) return;
    const st = n.raw!.status();
    const v1 = this.electionSafety.observeLeader(st.term, n.id);
    if (v1) this.violate(v1);
    this.checkLeaseExclusion(n, st.term);
    const first = n.disk.firstIndex();
    const termAt = (i: number) => n.raw!.termAt(i);
    if (n.wasLeaderTerm !== st.term) {
      n.wasLeaderTerm = st.term;
      this.log(() => `node ${n.id} leads term ${st.term}`);
      const v2 = this.completeness.observeNewLeader(n.id, st.term, st.lastIndex, first - 1, termAt);
      if (v2) this.violate(v2);
    }
    const v3 = this.appendOnly.observe(`${n.id}#${n.incarnation}`, st.term, st.lastIndex, termAt, first);
    if (v3) this.violate(v3);
  }

  /**
   * Lease mode: no leader of a later term exists while a leader of an earlier term still holds
   * its read lease (it would answer reads that miss the later leader's writes). Checked from
   * both sides whenever a leader handles an event: its own lease against later leaders, and
   * its own term against earlier leaders' leases.
   */
  private checkLeaseExclusion(n: SimNode, term: number): void {
    if (!this.opts.leaseReads) return;
    for (const o of this.nodes.values()) {
      const otherTerm = o === n ? undefined : this.durableLeaderTerm(o);
      if (otherTerm === undefined || otherTerm === term) continue;
      const [older, newer] = otherTerm < term ? [o, n] : [n, o];
      if (!older.raw!.holdsReadLease()) continue;
      this.violate({
        property: 'LeaseExclusion',
        message: `node ${newer.id} leads a later term while node ${older.id} still holds its read lease`,
      });
    }
  }

  violate(v: Violation): void {
    this.log(() => `VIOLATION ${v.property}: ${v.message}`);
    this.violations.push(v);
  }

  /** A hash of every node's durable and applied state, to prove replays are exact. */
  stateHash(): string {
    const h = createHash('sha256');
    for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) {
      const n = this.nodes.get(id)!;
      const st = n.raw?.status();
      h.update(
        `${id}|${n.sm.appliedIndex}|${n.sm.writes.join(',')}|${st?.term ?? -1}|${st?.commit ?? -1}|${n.disk.lastIndex()}\n`,
      );
    }
    h.update(`steps=${this.steps}`);
    return h.digest('hex');
  }
}
