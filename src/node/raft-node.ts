/**
 * The runtime that drives the raft core: a timer for ticks, the Ready loop (send if
 * leader -> apply what is durable -> persist in one synced batch -> send if follower ->
 * apply the rest -> advance), proposal tracking, batched ReadIndex reads, snapshots for
 * log compaction, and configuration changes. "How a write travels" in DESIGN.md.
 */
import { assert, InvariantViolation } from '../common/assert.js';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { LazyBytes } from '../common/lazy-bytes.js';
import type { Logger } from '../common/logger.js';
import {
  type ConfChange,
  type ConfChangeSingle,
  ConfChangeTransition,
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  type HardState,
  leaderMaySendBeforePersist,
  type Message,
  MessageType,
  message,
  NONE,
  type NodeId,
  type Prng,
  type RaftStatus,
  RawNode,
  ReadOnlyOption,
  type Ready,
  Role,
} from '../raft/index.js';
import { ApplyWaiters } from './apply-waiters.js';
import { decodeEnvelope, EntryKind, type Envelope, encodeEnvelope } from './envelope.js';
import type { NodeStorage, PeerTransport, PersistBatch, StateMachine } from './ports.js';
import { ProposalTracker } from './proposal-tracker.js';
import { ReadIndexLoop } from './read-index-loop.js';

/** How the node runs: timing, limits, snapshots. */
export interface RaftNodeOptions<R> {
  readonly id: NodeId;
  readonly storage: NodeStorage;
  readonly stateMachine: StateMachine<R>;
  readonly transport: PeerTransport;
  readonly logger: Logger;
  readonly prng: Prng;
  readonly tickIntervalMs: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  readonly requestTimeoutMs: number;
  readonly pendingProposalsMax: number;
  readonly pendingReadsMax: number;
  readonly snapshotCount: number;
  readonly snapshotCatchUpEntries: number;
  /**
   * A snapshot is also taken once the entries appended since the last one hold this many data
   * bytes, and the catch-up entries kept behind it hold at most half as many (default: no
   * bound). The log held in memory and read at start-up stays bounded by bytes, not only by
   * snapshotCount entries, which for large Txns can be hundreds of megabytes.
   */
  readonly snapshotLogBytes?: number;
  readonly leaseReads: boolean;
  /**
   * The state machine is still loading when the node starts: until stateMachineLoaded(), the
   * node votes, appends and acknowledges (a cluster can reach a quorum through it) but does not
   * campaign, apply, take snapshots or install one (a snapshot that arrives waits for the load).
   */
  readonly startLoading?: boolean;
  /**
   * performance.now() at a moment after this member's previous incarnation stopped (its data
   * folder's lock was taken): the lease clock counts from it, so the startup lease (see
   * Raft.inStartupLease) covers time spent loading. Default: when the RaftNode is made.
   */
  readonly leaseClockOriginMs?: number;
  /**
   * How long after start() the first tick comes, in [0, tickIntervalMs); the ticks follow every
   * tickIntervalMs. Default: a random fraction of a tick. Members started together would
   * otherwise tick nearly in step, and two followers that drew the same random election
   * timeout would then campaign within a millisecond of each other and split the vote.
   */
  readonly tickPhaseMs?: number;
  /** Called after a configuration change was applied (membership registry, transport peers). */
  readonly onConfChange?: (cc: ConfChange, confState: ConfState, index: number) => void;
  /** Called when this node learns of a new leader (or of none). */
  readonly onLeaderChange?: (leader: NodeId, term: number) => void;
  /** Called once when the node fails (storage error, invariant violation): the member must stop. */
  readonly onFatal?: (err: Error) => void;
}

/**
 * After the connection to the leader breaks, the first follower by rank campaigns this many
 * ticks past the base election timeout (one tick clears the other voters' lease whatever the
 * phase of their ticks; the second is margin for a busy event loop), and each next one
 * EXPEDITE_SPACING_TICKS later (see RaftNode.peerDown).
 */
const EXPEDITE_FIRST_TICKS = 2;
const EXPEDITE_SPACING_TICKS = 2;
/**
 * At the initial election advance, each voter by rank campaigns this many ticks after the one
 * before it (the first on the tick after the advance; see RaftNode.maybeAdvanceElection).
 */
const INITIAL_SPACING_TICKS = 2;
/** The data of a Snap message whose bytes travel beside it (see sendSnapshot). */
const NO_DATA = new Uint8Array(0);
/** Longest a state-machine change or commit index waits for a write to take it (see armFlush). */
const STATE_MACHINE_FLUSH_MS = 100;

/** One Cairn member's consensus runtime. */
export class RaftNode<R> {
  private readonly raw: RawNode;
  private readonly log: Logger;
  private readonly proposals: ProposalTracker<R>;
  private readonly reads: ReadIndexLoop;
  private readonly applied = new ApplyWaiters();
  private ticker: NodeJS.Timeout | undefined;
  /** The timer that starts the ticker after its phase (see RaftNodeOptions.tickPhaseMs). */
  private tickerStart: NodeJS.Timeout | undefined;
  /** performance.now() at the origin of the core's lease clock (see syncLeaseClock). */
  private readonly leaseClockOriginMs: number;
  private processing = false;
  private stopped = false;
  /** A fatal error (storage failure, invariant violation): the node stops serving. */
  private fatal: Error | undefined;
  /** Invariant: the highest log index known to be synced on this node's disk. */
  private stableIndex: number;
  private snapshotIndex: number;
  /** Data bytes of the entries appended since the last snapshot (those replaced by a conflict included). */
  private logBytesSinceSnapshot: number;
  private confState: ConfState;
  /** The term and vote last synced: a leader sends early only when its Ready changes neither. */
  private persistedTerm: number;
  private persistedVote: NodeId;
  private leaderId: NodeId = NONE;
  private termNow = 0;
  /** Resolves when the Ready loop has drained (used by stop). */
  private idle: Promise<void> = Promise.resolve();
  /** Proposals of this node that failed (refused, timed out, dropped, stopped): etcd's proposals_failed_total. */
  private failedProposals = 0;
  /** Committed entries not yet applied, in log order: each waits until it is synced here. */
  private toApply: Entry[] = [];
  /** Followers sent a commit index held back to this leader's synced log (see withDurableCommit). */
  private readonly commitHeldBack = new Set<NodeId>();
  private writesInFlight = 0;
  /** Whether the election clock was brought forward in this run (it happens at most once). */
  private electionAdvanced = false;
  /** The first peer reported up in this run (NONE: none yet). */
  private firstPeerUp: NodeId = NONE;
  /** Settles after the last write issued (writes settle in order). */
  private lastWrite: Promise<void> = Promise.resolve();
  /** A commit index not yet written: it goes with the next write (see handleReady). */
  private deferredHardState: HardState | undefined;
  /** Writes the state machine's pending changes when no other write took them (see armFlush). */
  private flushTimer: NodeJS.Timeout | undefined;
  /** False while the state machine loads (see RaftNodeOptions.startLoading). */
  private stateLoaded: boolean;
  /** Resolves when the state machine has loaded. */
  private readonly loaded: Promise<void>;
  private markLoaded: () => void = () => {};
  /** Callers of snapshotNow waiting for the Ready loop to take the snapshot. Bounded by callers' own limits (one per Defragment). */
  private snapshotWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(private readonly opts: RaftNodeOptions<R>) {
    this.log = opts.logger.child({ component: 'node' });
    const rs = opts.storage.raftStorage;
    this.stableIndex = rs.lastIndex();
    this.snapshotIndex = rs.snapshot().metadata.index;
    this.logBytesSinceSnapshot = rs.dataBytesAfter(this.snapshotIndex);
    this.leaseClockOriginMs = opts.leaseClockOriginMs ?? performance.now();
    assert(this.leaseClockOriginMs <= performance.now(), 'the lease clock cannot start in the future');
    const hs = rs.initialState().hardState;
    this.persistedTerm = hs.term;
    this.persistedVote = hs.vote;
    this.termNow = hs.term;
    this.confState = rs.snapshot().metadata.confState;
    // Raft redelivers every entry after the snapshot: configuration changes must be re-applied
    // to the core, and the state machine skips what it already has (appliedIndex).
    this.raw = new RawNode({
      id: opts.id,
      storage: rs,
      electionTimeoutTicks: opts.electionTimeoutTicks,
      heartbeatIntervalTicks: opts.heartbeatIntervalTicks,
      prng: opts.prng,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: opts.leaseReads ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
      leaseClockByDriver: true,
      logger: opts.logger.child({ component: 'raft' }),
    });
    this.proposals = new ProposalTracker<R>(
      opts.pendingProposalsMax,
      opts.requestTimeoutMs,
      Date.now() * 1000,
    );
    this.reads = new ReadIndexLoop(
      {
        requestReadIndex: (ctx) => {
          this.syncLeaseClock();
          this.raw.readIndex(ctx);
          this.schedule();
        },
        waitApplied: (index) => this.applied.wait(index),
      },
      opts.requestTimeoutMs,
      opts.pendingReadsMax,
      opts.id,
      // A read not answered within half an election timeout asks again (its request may be lost).
      Math.max(opts.tickIntervalMs, (opts.electionTimeoutTicks * opts.tickIntervalMs) / 2),
    );
    this.applied.markApplied(opts.stateMachine.appliedIndex);
    this.stateLoaded = opts.startLoading !== true;
    this.loaded = new Promise((resolve) => {
      this.markLoaded = resolve;
    });
    if (this.stateLoaded) this.markLoaded();
    else this.raw.holdCampaign(true);
  }

  /**
   * The state machine has loaded (the node started with startLoading): the committed entries
   * that waited are applied, and the node may campaign. Its state machine must hold exactly
   * what it held at start (its applied index then): nothing applied to it meanwhile.
   */
  stateMachineLoaded(): void {
    assert(!this.stateLoaded, 'the state machine was loaded already');
    this.stateLoaded = true;
    this.markLoaded();
    this.raw.holdCampaign(false);
    this.log.info(
      { applied: this.opts.stateMachine.appliedIndex, waiting: this.toApply.length },
      'state loaded',
    );
    this.applyDurable();
    this.schedule();
  }

  /** The member id of this node. */
  get id(): NodeId {
    return this.opts.id;
  }

  /** The leader this node knows of, or 0. */
  get leader(): NodeId {
    return this.leaderId;
  }

  /** Whether this leader is handing leadership over (raft abandons a transfer after an election timeout). */
  get transferring(): boolean {
    return this.raw.leadTransferee !== NONE;
  }

  /** The current raft term as this node knows it. */
  get term(): number {
    return this.termNow;
  }

  /** The highest index applied to the state machine. */
  get appliedIndex(): number {
    return this.applied.applied;
  }

  /** Proposals of this node waiting for their entry to be applied. */
  get pendingProposals(): number {
    return this.proposals.pending;
  }

  /** Proposals of this node that failed since it started (etcd's proposals_failed_total). */
  get proposalsFailed(): number {
    return this.failedProposals;
  }

  /** The configuration last applied. */
  get configuration(): ConfState {
    return this.confState;
  }

  /** The core's status (role, indexes, progress on the leader). */
  status(): RaftStatus {
    return this.raw.status();
  }

  /** Whether this member is a leader answering reads under its lease right now (lease reads on). */
  holdsReadLease(): boolean {
    this.syncLeaseClock();
    return this.raw.holdsReadLease();
  }

  /** Starts ticking (after the tick phase) and processing. */
  start(): void {
    const intervalMs = this.opts.tickIntervalMs;
    const phaseMs = this.opts.tickPhaseMs ?? Math.floor(Math.random() * intervalMs);
    assert(phaseMs >= 0 && phaseMs < intervalMs, 'the tick phase lies within one tick interval');
    const tick = (): void => {
      if (this.stopped || this.fatal) return;
      this.guarded(() => {
        this.syncLeaseClock();
        this.maybeAdvanceElection();
        this.raw.tick();
      });
    };
    if (phaseMs === 0) this.ticker = setInterval(tick, intervalMs);
    else
      this.tickerStart = setTimeout(() => {
        this.tickerStart = undefined;
        if (!this.stopped) this.ticker = setInterval(tick, intervalMs);
      }, phaseMs);
    this.schedule();
    this.log.info(
      { id: this.opts.id, applied: this.applied.applied, stableIndex: this.stableIndex },
      'node started',
    );
  }

  /**
   * A peer accepted a connection: the news the initial election advance waits for (see
   * maybeAdvanceElection).
   */
  peerActive(peer: NodeId): void {
    if (this.firstPeerUp === NONE) this.firstPeerUp = peer;
  }

  /**
   * The connection to a peer broke. If that peer is this follower's leader (a leader killed or
   * cut off closes its connections long before an election timeout passes), this member
   * campaigns soon after the base election timeout instead of after its random extra: the
   * voters stagger by rank (their order by id among the voters but the leader,
   * EXPEDITE_SPACING_TICKS apart, whatever their random draws) so that two followers never
   * campaign on the same tick and split the vote. Campaigning at
   * EXPEDITE_FIRST_TICKS past the base timeout, the first is also past the other voters'
   * leader lease, so its pre-vote is granted; a leader that still lives keeps its voters in
   * lease, and they refuse it.
   */
  peerDown(peer: NodeId): void {
    if (this.stopped || this.fatal || peer !== this.raw.leader || peer === this.opts.id) return;
    const voters = this.raw.status().config.voters;
    if (!voters.includes(this.opts.id)) return;
    const others = voters.filter((v) => v !== peer);
    const extraTicks = EXPEDITE_FIRST_TICKS + EXPEDITE_SPACING_TICKS * rankAmong(this.opts.id, others);
    this.guarded(() => this.raw.expediteElection(extraTicks));
    this.log.info({ leader: peer, extraTicks }, 'connection to the leader lost: election brought forward');
  }

  /**
   * Once per run, at the first tick when this member is a voter of a known configuration (a
   * restarted member learns it by re-applying its log), has applied every committed entry,
   * and either is the only voter or has heard that a peer is up, a member that knows no
   * leader brings its election clock forward to one tick short of the election timeout
   * (etcd's initial election tick advance): a cluster started or restarted as a whole elects
   * within a few ticks of its members finding each other, instead of a whole timeout later.
   * Its remaining wait is set by its rank among the voters (their order by id),
   * INITIAL_SPACING_TICKS apart, not by its random draw: the first by rank campaigns on the
   * next tick, and two members never campaign on the same tick and split the first vote.
   * Pre-vote keeps this harmless when a leader exists that this member has not heard from
   * yet: voters that hear from their leader ignore the pre-vote, and the leader's heartbeat
   * resets the clock.
   */
  private maybeAdvanceElection(): void {
    if (this.electionAdvanced || !this.stateLoaded) return;
    const st = this.raw.status();
    const voters = st.config.voters;
    if (!voters.includes(this.opts.id)) return;
    const sole = voters.length === 1;
    if (!sole && this.firstPeerUp === NONE) return;
    if (st.role !== Role.Follower || st.leader !== NONE) {
      // A leader is known (or this member campaigns already): nothing to bring forward, ever.
      this.electionAdvanced = true;
      return;
    }
    // A committed entry not yet applied may change the configuration, and the core refuses to
    // campaign until it is applied (losing a whole timeout): advance once the log is applied.
    if (st.applied < st.commit) return;
    this.electionAdvanced = true;
    const extraTicks = INITIAL_SPACING_TICKS * rankAmong(this.opts.id, voters);
    this.raw.staggerInitialElection(extraTicks);
    // One short of the base timeout: none of these ticks can start a campaign.
    const ticks = this.opts.electionTimeoutTicks - 1;
    this.raw.advanceElectionClock(ticks);
    this.log.info(
      { reason: sole ? 'sole voter' : `peer ${this.firstPeerUp} is up`, ticks, extraTicks },
      'election clock brought forward',
    );
  }

  /** Delivers a message from a peer. */
  step(m: Message): void {
    if (this.stopped || this.fatal) return;
    this.guarded(() => {
      this.syncLeaseClock();
      this.raw.step(m);
    });
  }

  /**
   * Moves the core's lease clock to the ticks a monotonic clock counted since the core was
   * made. Ticks come from a timer, which fires late when the event loop is busy: a leader
   * counting only those would think its lease younger than it is. Election ticks stay on
   * the timer, so a busy member is slower, never quicker, to time out.
   */
  private syncLeaseClock(): void {
    if (!this.opts.leaseReads) return;
    this.raw.advanceLeaseClock(
      1 + Math.floor((performance.now() - this.leaseClockOriginMs) / this.opts.tickIntervalMs),
    );
  }

  /**
   * Runs an input into the raft core, then schedules the Ready loop. A broken invariant (for
   * example a leader committing past the end of a log this member lost) fails the node
   * instead of going back to the transport, which would log it and keep delivering.
   */
  private guarded(input: () => void): void {
    try {
      input();
    } catch (err) {
      if (err instanceof InvariantViolation) {
        this.fail(err);
        return;
      }
      throw err;
    }
    this.schedule();
  }

  /** The transport could not deliver to a peer. */
  reportUnreachable(id: NodeId): void {
    if (this.stopped || this.fatal) return;
    this.guarded(() => this.raw.reportUnreachable(id));
  }

  /**
   * The transport dropped a message before it left this member. A forwarded proposal in it was
   * appended nowhere, so its callers are told at once, with a retriable error, instead of
   * waiting out the request timeout (a follower whose stream to the leader is reconnecting).
   */
  reportDropped(m: Message): void {
    if (m.type !== MessageType.Prop || this.stopped || this.fatal) return;
    const err = new CairnError(
      ErrorCode.PROPOSAL_DROPPED,
      `the proposal could not be forwarded to the leader (member ${m.to}); it was not applied`,
      this.leaderId === NONE ? undefined : this.leaderId,
    );
    for (const e of m.entries) {
      const env = proposalEnvelope(e);
      if (env !== undefined && env.proposer === this.opts.id) this.proposals.fail(env.seq, err);
    }
  }

  /** The transport finished sending a snapshot. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.stopped || this.fatal) return;
    this.guarded(() => this.raw.reportSnapshot(id, ok));
  }

  private ensureServing(): void {
    if (this.fatal) throw new CairnError(ErrorCode.STOPPED, `node failed: ${this.fatal.message}`);
    if (this.stopped) throw new CairnError(ErrorCode.STOPPED, 'node is stopping');
  }

  /**
   * Proposes a command and resolves with the state machine's result once the entry is
   * applied on this node (so it is committed, and durable on a quorum and here).
   */
  async propose(kind: EntryKind, payload: Uint8Array): Promise<R> {
    try {
      this.ensureServing();
    } catch (err) {
      this.failedProposals++;
      throw err;
    }
    const { seq, result } = this.registerProposal();
    try {
      this.raw.propose(encodeEnvelope(kind, this.opts.id, seq, payload));
    } catch (err) {
      this.proposals.fail(seq, err as Error);
      throw this.withLeaderHint(err as Error);
    }
    this.schedule();
    return result;
  }

  /** Registers a waiter and counts its failure, if it fails (refused by the tracker, timed out, dropped). */
  private registerProposal(): { seq: number; result: Promise<R> } {
    let registered: { seq: number; result: Promise<R> };
    try {
      // The proposal goes to the leader the core knows now (see onSoftState).
      registered = this.proposals.register(this.raw.leader);
    } catch (err) {
      this.failedProposals++;
      throw err;
    }
    registered.result.catch(() => {
      this.failedProposals++;
    });
    return registered;
  }

  private withLeaderHint(err: Error): Error {
    if (err instanceof CairnError && err.code === ErrorCode.PROPOSAL_DROPPED && this.leaderId === NONE) {
      return new CairnError(ErrorCode.NO_LEADER, 'no leader', undefined);
    }
    return err;
  }

  /** Resolves when the local state machine reflects every write committed before this call (linearizable read). */
  async linearizableBarrier(): Promise<void> {
    this.ensureServing();
    try {
      await this.reads.read();
    } catch (err) {
      throw this.withLeaderHint(err as Error);
    }
  }

  /** Proposes a configuration change; resolves once it is applied here. */
  async proposeConfChange(cc: ConfChange): Promise<ConfState> {
    this.ensureServing();
    const before = this.applied.applied;
    this.raw.proposeConfChange(cc);
    this.schedule();
    const lastIndex = this.raw.status().lastIndex;
    await this.waitAppliedWithTimeout(Math.max(lastIndex, before + 1));
    return this.confState;
  }

  /**
   * Proposes a membership change whose context carries `payload` and this node's proposal
   * number; resolves with the state machine's result once the change is applied here. A
   * change the leader refuses after forwarding becomes a no-op and this fails with TIMEOUT.
   */
  async proposeMemberChange(changes: readonly ConfChangeSingle[], payload: Uint8Array): Promise<R> {
    this.ensureServing();
    const { seq, result } = this.registerProposal();
    try {
      this.raw.proposeConfChange({
        transition: ConfChangeTransition.Auto,
        changes,
        context: encodeEnvelope(EntryKind.MemberConfChange, this.opts.id, seq, payload),
      });
    } catch (err) {
      this.proposals.fail(seq, err as Error);
      throw this.withLeaderHint(err as Error);
    }
    this.schedule();
    return result;
  }

  /**
   * Takes a snapshot of the state machine now and compacts the log behind it (keeping the
   * catch-up entries), between two Readies. Defragment calls it, so that the stored snapshot
   * and the log stop holding data the state machine has since dropped (compaction).
   */
  async snapshotNow(): Promise<void> {
    this.ensureServing();
    await this.loaded;
    const done = new Promise<void>((resolve, reject) => this.snapshotWaiters.push({ resolve, reject }));
    this.schedule();
    await done;
  }

  /** Asks the leader to hand leadership to `to`. */
  transferLeadership(to: NodeId): void {
    this.ensureServing();
    this.raw.transferLeadership(to);
    this.schedule();
  }

  private async waitAppliedWithTimeout(index: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CairnError(ErrorCode.TIMEOUT, 'request timed out')),
        this.opts.requestTimeoutMs,
      );
    });
    try {
      await Promise.race([this.applied.wait(index), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once applied >= index. */
  waitApplied(index: number): Promise<void> {
    return this.applied.wait(index);
  }

  // ------------------------------------------------------------ Ready loop

  private schedule(): void {
    if (this.processing || this.stopped || this.fatal) return;
    this.processing = true;
    this.idle = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.runReadyLoop().finally(resolve);
      });
    });
  }

  private async runReadyLoop(): Promise<void> {
    try {
      while (!this.stopped && this.raw.hasReady()) {
        const rd = this.raw.ready();
        await this.handleReady(rd);
        this.raw.advance(rd);
        await this.maybeSnapshot();
      }
      this.armFlush();
      if (this.snapshotWaiters.length > 0) {
        await this.writesDone();
        await this.takeRequestedSnapshot();
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.processing = false;
    }
    const pending = this.raw.hasReady() || this.snapshotWaiters.length > 0;
    if (!this.stopped && !this.fatal && pending) this.schedule();
  }

  /**
   * State-machine changes and a commit index that no write has taken yet go out in a batch
   * of their own (unsynced: the log they come from is durable, and a commit index lost in a
   * crash is learned again) if no other write takes them within STATE_MACHINE_FLUSH_MS, so
   * the applied index on disk never lags behind for long (etcd's backend commits every 100 ms
   * the same way). Under load the next Ready's write takes them long before.
   */
  private armFlush(): void {
    if (this.flushTimer !== undefined || this.stopped || this.fatal) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.stopped) this.flushDeferred();
    }, STATE_MACHINE_FLUSH_MS);
  }

  /** Queues a write of what the state machine and the commit index have not written yet, if anything. */
  private flushDeferred(): void {
    if (this.fatal) return;
    const batch = this.batchWith({ entries: [], sync: false });
    if (batch.stateMachineWrites === undefined && batch.hardState === undefined) return;
    this.trackWrite(this.opts.storage.persist(batch));
  }

  /** Runs after the state machine's writes are flushed, so the snapshot and the data on disk agree. */
  private async takeRequestedSnapshot(): Promise<void> {
    if (this.snapshotWaiters.length === 0 || this.stopped) return;
    const waiters = this.snapshotWaiters;
    this.snapshotWaiters = [];
    try {
      await this.maybeSnapshot(true);
    } catch (err) {
      for (const w of waiters) w.reject(err as Error);
      throw err;
    }
    for (const w of waiters) w.resolve();
  }

  private rejectSnapshotWaiters(err: Error): void {
    const waiters = this.snapshotWaiters;
    this.snapshotWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  private fail(err: Error): void {
    if (this.fatal) return;
    this.fatal = err;
    this.rejectSnapshotWaiters(new CairnError(ErrorCode.STOPPED, `node failed: ${err.message}`));
    this.log.fatal({ err }, 'node failed; it stops serving');
    this.proposals.failAll(new CairnError(ErrorCode.STOPPED, `node failed: ${err.message}`));
    this.reads.stop();
    this.opts.onFatal?.(err);
  }

  /**
   * Handles one Ready. Most Readies are pipelined: their write is queued (storage writes land
   * in order, and those queued behind a write under way share its fsync) and the loop moves
   * on, so acknowledgements, commits and new proposals do not wait for an unrelated fsync.
   * What depends on the write waits for it: a follower's messages (acks), and applying
   * committed entries not yet synced here. A leader sends at once, but never tells followers a
   * commit index beyond its own synced log: it may have counted its unsynced entries towards
   * the quorum, and a follower applying such an entry would make it visible before a quorum
   * holds it durably. A Ready that changes the term or vote, or installs a snapshot, waits for
   * every earlier write and is handled in full before the loop continues.
   */
  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.leader, rd.softState.role);
    if (rd.hardState) this.termNow = rd.hardState.term;
    const hs = rd.hardState;
    const changesTermOrVote =
      hs !== undefined && (hs.term !== this.persistedTerm || hs.vote !== this.persistedVote);
    if (rd.snapshot !== undefined || changesTermOrVote) {
      await this.writesDone();
      await this.handleReadyInFull(rd);
      return;
    }
    const isLeader = this.raw.role === Role.Leader;
    let deferred: readonly Message[] = [];
    if (isLeader) {
      // An append that only tells a follower a commit index beyond this member's synced log
      // waits for the write rather than going now with the commit held back: the follower
      // would otherwise learn it only from the next append or heartbeat (a heartbeat after
      // the write may carry no more than the follower had acknowledged by then).
      const now: Message[] = [];
      const afterWrite: Message[] = [];
      for (const m of rd.messages) (commitOnlyBeyond(m, this.stableIndex) ? afterWrite : now).push(m);
      this.send(now.map((m) => this.withDurableCommit(m)));
      deferred = afterWrite;
    } else {
      this.send(rd.messages.filter(independentOfLog));
      deferred = rd.messages.filter((m) => !independentOfLog(m));
    }
    for (const e of rd.committedEntries) this.toApply.push(e);
    this.applyDurable();
    this.countAppended(rd.entries);
    if (rd.entries.length === 0 && !rd.mustSync) {
      // Nothing here must be on disk before anything else happens: the commit index and the
      // changes of the entries applied wait for the next write (armFlush). Messages that speak
      // of the log wait only for the writes already under way, which hold everything they
      // acknowledge.
      if (rd.hardState) this.deferredHardState = rd.hardState;
      const afterWrites = (): void => {
        if (this.stopped || this.fatal) return;
        this.send(isLeader ? deferred.map((m) => this.withDurableCommit(m)) : deferred);
      };
      if (deferred.length > 0) {
        if (this.writesInFlight === 0) afterWrites();
        else void this.lastWrite.then(afterWrites);
      }
      this.armFlush();
      for (const rs of rd.readStates) this.reads.onReadState(rs);
      return;
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    const written = this.opts.storage
      .persist(
        // New entries must be on disk before any message depends on them. A Ready that only
        // moves the commit index need not be synced (as in etcd): a commit index lost in a
        // crash is learned again from the leader.
        this.batchWith({ hardState: rd.hardState, entries: rd.entries, sync: rd.mustSync }),
      )
      .then(() => {
        if (this.stopped || this.fatal) return;
        if (lastEntry) this.stableIndex = lastEntry.index;
        this.send(isLeader ? deferred.map((m) => this.withDurableCommit(m)) : deferred);
        this.applyDurable();
        this.refreshFollowerCommits();
        // Entries applied just now leave state-machine changes: the loop's end writes them.
        this.schedule();
      });
    this.trackWrite(written);
    for (const rs of rd.readStates) this.reads.onReadState(rs);
  }

  /** The old, strict order for a Ready that changes the term or vote or installs a snapshot (no write is in flight). */
  private async handleReadyInFull(rd: Ready): Promise<void> {
    // A leader's disk write runs in parallel with its followers' (see leaderMaySendBeforePersist).
    const persisted = { term: this.persistedTerm, vote: this.persistedVote, commit: 0 };
    const sendEarly = leaderMaySendBeforePersist(rd, this.raw.role === Role.Leader, persisted);
    if (sendEarly) this.send(rd.messages);

    if (rd.snapshot) {
      // A snapshot replaces the state machine's data: the load under way must not overwrite it.
      await this.loaded;
      this.opts.stateMachine.restore(rd.snapshot.metadata.index, rd.snapshot.data);
      this.confState = rd.snapshot.metadata.confState;
      this.snapshotIndex = rd.snapshot.metadata.index;
      this.logBytesSinceSnapshot = 0;
      // Entries the snapshot covers are in the state machine already.
      const covered = rd.snapshot.metadata.index;
      this.toApply = this.toApply.filter((e) => e.index > covered);
    }
    // Entries already synced here may be applied before this Ready's write; the rest after it.
    // A committed entry is durable on a quorum, but a single-member cluster's quorum is this
    // disk alone, so an entry is never applied before it is synced locally.
    for (const e of rd.committedEntries) this.toApply.push(e);
    this.applyDurable();
    this.countAppended(rd.entries);

    await this.opts.storage.persist(
      this.batchWith({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot, sync: true }),
    );
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (rd.snapshot) this.stableIndex = Math.max(this.stableIndex, rd.snapshot.metadata.index);
    if (lastEntry) this.stableIndex = lastEntry.index;

    if (rd.hardState) {
      this.persistedTerm = rd.hardState.term;
      this.persistedVote = rd.hardState.vote;
    }
    if (!sendEarly) this.send(rd.messages);
    this.applyDurable();
    if (rd.snapshot) this.applied.markApplied(rd.snapshot.metadata.index);
    for (const rs of rd.readStates) this.reads.onReadState(rs);
  }

  /**
   * A write of `part` that also takes everything deferred until now: the state machine's
   * changes with its applied index, and a commit index an earlier Ready deferred (unless
   * `part` brings a hard state of its own, which is newer).
   */
  private batchWith(part: Pick<PersistBatch, 'hardState' | 'entries' | 'snapshot' | 'sync'>): PersistBatch {
    const hardState = part.hardState ?? this.deferredHardState;
    this.deferredHardState = undefined;
    return {
      ...part,
      hardState,
      stateMachineWrites: this.opts.stateMachine.takeWrites(),
      appliedIndex: this.opts.stateMachine.appliedIndex,
    };
  }

  /** Applies, in log order, the committed entries that are synced here. */
  private applyDurable(): void {
    if (!this.stateLoaded) return;
    let n = 0;
    while (n < this.toApply.length && this.toApply[n]!.index <= this.stableIndex) n++;
    if (n === 0) return;
    this.applyEntries(this.toApply.splice(0, n));
  }

  /** A leader's message with its commit index limited to this member's synced log (see handleReady). */
  private withDurableCommit(m: Message): Message {
    if ((m.type !== MessageType.App && m.type !== MessageType.Heartbeat) || m.commit <= this.stableIndex)
      return m;
    this.commitHeldBack.add(m.to);
    return { ...m, commit: this.stableIndex };
  }

  /**
   * After a write, tells the followers whose commit index was held back how far the commit
   * now goes, with a heartbeat (never beyond what each follower has acknowledged), so they
   * need not wait for the next append or heartbeat.
   */
  private refreshFollowerCommits(): void {
    if (this.commitHeldBack.size === 0) return;
    const st = this.raw.status();
    if (st.role !== Role.Leader || st.progress === undefined) {
      this.commitHeldBack.clear();
      return;
    }
    const out: Message[] = [];
    for (const to of this.commitHeldBack) {
      const match = st.progress.get(to)?.match ?? 0;
      const commit = Math.min(match, st.commit, this.stableIndex);
      out.push(message(MessageType.Heartbeat, { to, from: this.opts.id, term: st.term, commit }));
    }
    if (st.commit <= this.stableIndex) this.commitHeldBack.clear();
    this.send(out);
  }

  /** Records a write under way; a failed write fails the node. */
  private trackWrite(written: Promise<void>): void {
    this.writesInFlight++;
    const settled = written.then(
      () => {
        this.writesInFlight--;
      },
      (err: unknown) => {
        this.writesInFlight--;
        this.fail(err as Error);
      },
    );
    this.lastWrite = settled;
  }

  /** Resolves once every write issued so far is on disk (and its follow-up done). */
  private async writesDone(): Promise<void> {
    while (this.writesInFlight > 0) await this.lastWrite;
  }

  private onSoftState(leader: NodeId, role: Role): void {
    if (leader !== this.leaderId) {
      const previous = this.leaderId;
      this.leaderId = leader;
      this.log.info({ leader, previous, role, term: this.raw.status().term }, 'leader changed');
      this.reads.onLeaderChange();
      // Proposals made under the previous leader were sent to it (or appended by this member
      // while it led). If that leader died or was cut off, nothing will ever answer them but
      // the request timeout; say now that their outcome is unknown, so callers retry (when
      // they may) at the new leader instead of waiting it out. One that commits after all is
      // applied as usual; only its answer is lost, exactly as after a timeout.
      // Proposals already handed to the new leader (the core knew it before this Ready) stay.
      if (this.proposals.pending > 0) {
        const failed = this.proposals.failUnlessLeader(
          leader,
          new CairnError(
            ErrorCode.TIMEOUT_DUE_TO_LEADER_FAIL,
            `the leader changed (from ${previous}) before the request was applied; its outcome is unknown`,
          ),
        );
        if (failed > 0)
          this.log.info({ failed, previous, leader }, 'pending proposals failed: the leader changed');
      }
      this.opts.onLeaderChange?.(leader, this.raw.status().term);
    }
  }

  private send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    const out: Message[] = [];
    for (const m of messages) {
      if (m.type === MessageType.Snap) this.sendSnapshot(m);
      else out.push(m);
    }
    if (out.length > 0) this.opts.transport.send(out);
  }

  /**
   * A snapshot goes out as the current applied state (index, term, configuration), as etcd
   * sends it: raft's last stored snapshot may predate the recipient joining the
   * configuration, and the recipient would refuse it forever. Its bytes are made as the
   * transport sends them, from a view of the state fixed now, so the Ready loop (and the
   * heartbeats it sends) never waits for a large store to be serialized.
   */
  private sendSnapshot(m: Message): void {
    const index = this.opts.stateMachine.appliedIndex;
    const term = this.raw.termAt(index);
    if (term === 0) {
      // The stored snapshot has no data (storage keeps metadata only): sending it would empty
      // the follower. Raft sends another once told this one failed.
      this.log.warn({ to: m.to, index }, 'no snapshot can be made at the applied index; retried later');
      this.guarded(() => this.raw.reportSnapshot(m.to, false));
      return;
    }
    let data: LazyBytes;
    try {
      data = this.opts.stateMachine.snapshot();
    } catch (err) {
      // A state too large for the snapshot layout: the follower cannot be caught up this way.
      if (!(err instanceof CairnError)) throw err;
      this.log.error({ err, to: m.to, index }, 'no snapshot can be made; retried later');
      this.guarded(() => this.raw.reportSnapshot(m.to, false));
      return;
    }
    this.opts.transport.sendSnapshot(
      { ...m, snapshot: { metadata: { index, term, confState: this.confState }, data: NO_DATA } },
      data,
    );
  }

  private applyEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const sm = this.opts.stateMachine;
    for (const e of entries) {
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        this.confState = this.raw.applyConfChange(cc);
        if (e.index > sm.appliedIndex)
          this.applyConfChangeToStateMachine({ index: e.index, term: e.term }, cc);
        this.opts.onConfChange?.(cc, this.confState, e.index);
        continue;
      }
      // Entries at or below the state machine's applied index are replays after a restart.
      if (e.index <= sm.appliedIndex) continue;
      if (e.data.byteLength === 0) {
        sm.skip({ index: e.index, term: e.term });
        continue;
      }
      const env = decodeEnvelope(e.data);
      const result = sm.apply({ index: e.index, term: e.term }, env);
      if (env.proposer === this.opts.id) this.proposals.resolve(env.seq, result);
    }
    this.applied.markApplied(entries[entries.length - 1]!.index);
  }

  private applyConfChangeToStateMachine(pos: { index: number; term: number }, cc: ConfChange): void {
    const sm = this.opts.stateMachine;
    if (!sm.applyConfChange) {
      sm.skip(pos);
      return;
    }
    const env = memberChangeEnvelope(cc.context);
    const result = sm.applyConfChange(pos, cc, env);
    if (env && env.proposer === this.opts.id) this.proposals.resolve(env.seq, result);
  }

  private countAppended(entries: readonly Entry[]): void {
    for (const e of entries) this.logBytesSinceSnapshot += e.data.byteLength;
  }

  /**
   * Takes a snapshot every snapshotCount applied entries or snapshotLogBytes appended bytes
   * (or now, if forced) and compacts the log behind it, keeping catch-up entries.
   */
  private async maybeSnapshot(force = false): Promise<void> {
    if (!this.stateLoaded) return;
    const applied = this.opts.stateMachine.appliedIndex;
    const logBytesMax = this.opts.snapshotLogBytes ?? Number.POSITIVE_INFINITY;
    const due = force
      ? applied > this.snapshotIndex
      : applied > this.snapshotIndex &&
        (applied - this.snapshotIndex >= this.opts.snapshotCount ||
          this.logBytesSinceSnapshot >= logBytesMax);
    if (!due || applied > this.stableIndex || this.fatal) return;
    // The snapshot stands for the state machine's data up to `applied`: write what waits, and
    // record no snapshot unless it landed (a failed member writes nothing more).
    this.flushDeferred();
    await this.writesDone();
    if (this.fatal) return;
    // The state machine's changes up to `applied` went into writes queued before this one, and
    // storage writes land in order: once the snapshot is on disk, so is the data it stands
    // for, as the state machine's own keys. The snapshot only marks where the log may start;
    // nothing is serialized.
    const compactIndex = Math.max(
      this.opts.storage.raftStorage.compactIndexKeeping(
        applied,
        this.opts.snapshotCatchUpEntries,
        logBytesMax / 2,
      ),
      this.snapshotIndex,
    );
    await this.opts.storage.saveSnapshot(applied, this.confState, compactIndex);
    this.snapshotIndex = applied;
    this.logBytesSinceSnapshot = this.opts.storage.raftStorage.dataBytesAfter(applied);
    this.log.info({ index: applied, compactIndex }, 'snapshot saved; log compacted');
  }

  /** Stops ticking, fails waiters and waits for the Ready loop to finish its current batch. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickerStart) clearTimeout(this.tickerStart);
    if (this.ticker) clearInterval(this.ticker);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.proposals.failAll(new CairnError(ErrorCode.STOPPED, 'node is stopping'));
    this.reads.stop();
    this.rejectSnapshotWaiters(new CairnError(ErrorCode.STOPPED, 'node is stopping'));
    await this.idle;
    this.flushDeferred();
    await this.writesDone();
  }
}

/** Where id stands among ids in ascending order (0 first): the order in which staggered voters campaign. */
function rankAmong(id: NodeId, ids: readonly NodeId[]): number {
  const rank = [...ids].sort((a, b) => a - b).indexOf(id);
  assert(rank >= 0, () => `member ${id} is not among the voters it ranks in`);
  return rank;
}

/** The envelope of a proposed entry (a membership change's is in its context), if it has one. */
function proposalEnvelope(e: Entry): Envelope | undefined {
  if (e.type === EntryType.ConfChange) {
    try {
      return memberChangeEnvelope(decodeConfChange(e.data).context);
    } catch {
      return undefined;
    }
  }
  if (e.data.byteLength === 0) return undefined;
  try {
    return decodeEnvelope(e.data);
  } catch {
    return undefined;
  }
}

/** The envelope a membership change's context carries, if it carries one. */
function memberChangeEnvelope(context: Uint8Array): Envelope | undefined {
  if (context.byteLength === 0) return undefined;
  try {
    const env = decodeEnvelope(context);
    return env.kind === EntryKind.MemberConfChange ? env : undefined;
  } catch {
    return undefined;
  }
}

/** An append without entries whose commit index is beyond `stableIndex` (a leader's commit notice that its own write has not caught up with). */
function commitOnlyBeyond(m: Message, stableIndex: number): boolean {
  return m.type === MessageType.App && m.entries.length === 0 && m.commit > stableIndex;
}

/** Messages that say nothing about this member's log or vote, so need not wait for its write (proposals and reads forwarded to the leader). */
function independentOfLog(m: Message): boolean {
  return m.type === MessageType.Prop || m.type === MessageType.ReadIndex;
}
