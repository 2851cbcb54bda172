/**
 * The Raft state machine (Ongaro's thesis; the shape of etcd-io/raft): elections with
 * pre-vote and check-quorum, replication with per-follower progress, the current-term
 * commit rule, ReadIndex and lease reads, leadership transfer, snapshots and joint
 * consensus. Pure and synchronous: messages go out through `msgs`, time is tick(), and
 * randomness comes from the injected PRNG.
 */
import { assert, unreachable } from '../common/assert.js';
import { CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import { applyConfChangeTo, type ConfigAndProgress, isLeaveJoint, restoreConfState } from './confchange.js';
import { decodeConfChange, encodeConfChange } from './confchange-codec.js';
import { type RaftConfig, ReadOnlyOption, type ResolvedRaftConfig, resolveConfig } from './config.js';
import { RaftLog } from './log.js';
import { ProgressState } from './progress.js';
import { VoteResult } from './quorum.js';
import { leaseTicksFor, ReadLease } from './read-lease.js';
import { ReadOnly } from './read-only.js';
import { ProgressTracker } from './tracker.js';
import {
  type ConfChange,
  ConfChangeTransition,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  message,
  NONE,
  type NodeId,
  type ReadState,
  Role,
  type Snapshot,
  type SoftState,
} from './types.js';

/** Context on a Vote that comes from a leadership transfer: voters grant it even within a leader lease. */
export const CAMPAIGN_TRANSFER = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]); // "transfer"

/** The payload of the empty change that leaves a joint configuration. */
const LEAVE_JOINT_DATA = encodeConfChange({
  transition: ConfChangeTransition.Auto,
  changes: [],
  context: new Uint8Array(0),
});

/** Why an election starts. */
enum CampaignKind {
  PreElection = 'pre-election',
  Election = 'election',
  Transfer = 'transfer',
}

/** A message under construction: everything optional except type and to. */
type OutMessage = Partial<Message> & { type: MessageType; to: NodeId };

function isTransferContext(ctx: Uint8Array | undefined): boolean {
  if (!ctx || ctx.byteLength !== CAMPAIGN_TRANSFER.byteLength) return false;
  for (let i = 0; i < ctx.byteLength; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false;
  return true;
}

function voteRespType(t: MessageType): MessageType {
  if (t === MessageType.Vote) return MessageType.VoteResp;
  if (t === MessageType.PreVote) return MessageType.PreVoteResp;
  throw new CairnError(ErrorCode.INVALID_ARGUMENT, `not a vote message: ${t}`);
}

function payloadSizeBytes(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += e.data.byteLength;
  return s;
}

function dropped(msg: string, leaderHint?: NodeId): CairnError {
  return new CairnError(ErrorCode.PROPOSAL_DROPPED, msg, leaderHint);
}

/** The raft state machine of one member. */
export class Raft {
  readonly id: NodeId;
  readonly cfg: ResolvedRaftConfig;
  readonly log: RaftLog;
  tracker: ProgressTracker;

  term = 0;
  vote: NodeId = NONE;
  leader: NodeId = NONE;
  role: Role = Role.Follower;
  /** Whether this member is a learner in the current configuration. */
  isLearner = false;

  /** Messages to send, drained by ready(). */
  msgs: Message[] = [];
  /** Reads that became safe, drained by ready(). */
  readStates: ReadState[] = [];

  /** The member leadership is being transferred to, or NONE. */
  leadTransferee: NodeId = NONE;
  /** Index of the latest configuration change entry on a leader. Invariant: at most one unapplied change. */
  pendingConfIndex = 0;
  /** Bytes of proposal payloads appended but not yet applied on this leader. */
  uncommittedSizeBytes = 0;
  readOnly = new ReadOnly();
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];

  /** Lease mode: this leader's read lease in its term (see read-lease.ts). */
  readLease = new ReadLease();
  /** Lease mode: reads wait for a lease and no heartbeat round has been sent for them yet. */
  leaseRoundWanted = false;
  /**
   * The lease clock, in ticks from 1 when this node was made: moved by tick(), or only by
   * advanceLeaseClock when the driver keeps it (leaseClockByDriver); never by
   * advanceElectionClock. Stamped on a leader's heartbeats in lease mode.
   */
  leaseClockTicks = 1;
  /**
   * Lease mode: whether this node started with a term on disk, so may have acknowledged a
   * leader's heartbeat before a restart (a node persists a term before it answers in it).
   */
  private readonly startedWithTerm: boolean;
  /** Lease mode: how many ticks a quorum-acknowledged stamp keeps the lease (leaseTicksFor). */
  private readonly leaseTicks: number;
  /** Ticks since the last election timeout reset (followers/candidates) or the last check-quorum (leader). */
  electionElapsedTicks = 0;
  heartbeatElapsedTicks = 0;
  /** Election timeout for this term, in [electionTimeoutTicks, 2*electionTimeoutTicks). */
  randomizedElectionTimeoutTicks = 0;
  /** Set by holdCampaign: the member votes and appends but does not campaign. */
  private campaignHeld = false;

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    this.log = new RaftLog(this.cfg.storage, this.cfg.committedSizeBytesPerReadyMax);
    const { hardState, confState } = this.cfg.storage.initialState();
    this.startedWithTerm = hardState.term > 0;
    this.leaseTicks = leaseTicksFor(this.cfg.electionTimeoutTicks);
    const cp = restoreConfState(confState, {
      lastIndex: this.log.lastIndex(),
      inflightMessagesMax: this.cfg.inflightMessagesMax,
    });
    this.tracker = new ProgressTracker(cp.config, cp.progress);
    this.switchToConfig(cp);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (this.cfg.appliedIndex > 0) this.log.appliedTo(this.cfg.appliedIndex);
    this.becomeFollower(this.term, NONE);
    if (this.isFreshFoundingMember(hardState, confState)) this.bootstrapLog(confState);
    this.cfg.logger?.info(
      {
        term: this.term,
        commit: this.log.committed,
        applied: this.log.applied,
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
        voters: confState.voters,
      },
      'raft node started',
    );
  }

  private isFreshFoundingMember(hs: HardState, cs: ConfState): boolean {
    const fresh = hs.term === 0 && hs.vote === NONE && hs.commit === 0 && this.log.lastIndex() === 0;
    return fresh && (cs.voters.length > 0 || cs.learners.length > 0);
  }

  /**
   * A founding member of a new cluster writes the founding configuration into the log as
   * committed conf-change entries at term 1 (as etcd does), identical on every founding
   * member. A member that joins later replays the log from index 1 and so learns the
   * membership history; a restart without a snapshot rebuilds it the same way. Applying
   * these entries on a founding member changes nothing (adding a present member is a no-op).
   */
  private bootstrapLog(cs: ConfState): void {
    assert(cs.votersOutgoing.length === 0, 'cannot bootstrap a joint configuration');
    const changes = [
      ...cs.voters.map((nodeId) => ({ type: ConfChangeType.AddNode, nodeId })),
      ...cs.learners.map((nodeId) => ({ type: ConfChangeType.AddLearnerNode, nodeId })),
    ];
    const ents: Entry[] = changes.map((c, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({
        transition: ConfChangeTransition.Auto,
        changes: [c],
        context: new Uint8Array(0),
      }),
    }));
    this.becomeFollower(1, NONE);
    this.log.append(ents);
    this.log.commitTo(ents.length);
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit >= this.log.committed && hs.commit <= this.log.lastIndex(),
      () => `hard state commit ${hs.commit} out of range [${this.log.committed}, ${this.log.lastIndex()}]`,
    );
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** The state that must be persisted. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** The volatile state the driver may observe. */
  softState(): SoftState {
    return { leader: this.leader, role: this.role };
  }

  // ---------------------------------------------------------------- sending

  private send(m: OutMessage): void {
    let term = m.term ?? 0;
    const t = m.type;
    if (
      t === MessageType.Vote ||
      t === MessageType.VoteResp ||
      t === MessageType.PreVote ||
      t === MessageType.PreVoteResp
    ) {
      assert(term !== 0, () => `term should be set when sending ${MessageType[t]}`);
    } else {
      assert(term === 0, () => `term should not be set when sending ${MessageType[t]} (was ${term})`);
      // Proposals and read requests forwarded to the leader carry no term: they are
      // treated as local messages there.
      if (t !== MessageType.Prop && t !== MessageType.ReadIndex) term = this.term;
    }
    this.msgs.push({
      type: t,
      to: m.to,
      from: this.id,
      term,
      logTerm: m.logTerm ?? 0,
      index: m.index ?? 0,
      entries: m.entries ?? [],
      commit: m.commit ?? 0,
      snapshot: m.snapshot,
      reject: m.reject ?? false,
      rejectHint: m.rejectHint ?? 0,
      context: m.context,
    });
  }

  /** Sends an append (or a snapshot) to a follower if its progress allows; returns whether something was sent. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      ents = this.log.entries(pr.next, this.cfg.messageSizeBytesMax);
    } catch (err) {
      if (!isCairnError(err, ErrorCode.COMPACTED)) throw err;
      return this.maybeSendSnapshot(to);
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: MessageType.App,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.log.committed,
    });
    if (ents.length > 0) {
      const last = ents[ents.length - 1]!.index;
      switch (pr.state) {
        case ProgressState.Replicate:
          pr.optimisticUpdate(last);
          pr.inflights.add(last);
          break;
        case ProgressState.Probe:
          pr.probeSent = true;
          break;
        case ProgressState.Snapshot:
          assert(false, () => `sending append to ${to} in snapshot state`);
      }
    }
    return true;
  }

  private maybeSendSnapshot(to: NodeId): boolean {
    const pr = this.tracker.progress.get(to)!;
    if (!pr.recentActive) {
      this.cfg.logger?.debug({ to }, 'not sending snapshot to a member that is not recently active');
      return false;
    }
    let snap: Snapshot;
    try {
      snap = this.log.snapshot();
    } catch (err) {
      if (isCairnError(err, ErrorCode.SNAPSHOT_TEMPORARILY_UNAVAILABLE)) return false;
      throw err;
    }
    assert(snap.metadata.index > 0, 'need a non-empty snapshot');
    this.cfg.logger?.info(
      { to, index: snap.metadata.index, term: snap.metadata.term, match: pr.match },
      'sending snapshot',
    );
    pr.becomeSnapshot(snap.metadata.index);
    this.send({ type: MessageType.Snap, to, snapshot: snap });
    return true;
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private sendHeartbeat(to: NodeId, context: Uint8Array | undefined): void {
    // A follower may not have the leader's whole log yet: never tell it to commit beyond what it matches.
    const pr = this.tracker.progress.get(to)!;
    const commit = Math.min(pr.match, this.log.committed);
    // In lease mode the index field carries the lease clock at sending; the follower echoes it.
    const index = this.leaseMode() ? this.leaseClockTicks : 0;
    this.send({ type: MessageType.Heartbeat, to, commit, index, context });
  }

  /** Sends appends to every member that is not paused. */
  bcastAppend(): void {
    for (const id of this.tracker.memberIds()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeatWithContext(context: Uint8Array | undefined): void {
    for (const id of this.tracker.memberIds()) if (id !== this.id) this.sendHeartbeat(id, context);
  }

  /** Sends a heartbeat round; it carries the newest pending read so that it confirms every queued read. */
  bcastHeartbeat(): void {
    const ctx = this.readOnly.size > 0 ? this.readOnly.takeBroadcastContext() : undefined;
    this.bcastHeartbeatWithContext(ctx);
  }

  /** Sends one heartbeat round for every read queued since the last one (called before a Ready is built). */
  flushReadIndexBroadcast(): void {
    if (this.role !== Role.Leader) return;
    if (this.readOnly.needsBroadcast()) {
      this.leaseRoundWanted = false;
      this.bcastHeartbeatWithContext(this.readOnly.takeBroadcastContext());
    } else if (this.leaseRoundWanted) {
      this.leaseRoundWanted = false;
      this.bcastHeartbeat();
    }
  }

  // --------------------------------------------------------------- commit

  /** Commits what a quorum has, if it is of the current term; returns whether the commit index moved. */
  maybeCommit(): boolean {
    return this.log.maybeCommit(this.tracker.committed(), this.term, this.cfg.testOnlyBrokenCommitRule);
  }

  // ---------------------------------------------------------- role changes

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.leader = NONE;
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    const last = this.log.lastIndex();
    // Only what is synced counts as this node's own acknowledgment (see onPersisted).
    const persisted = Math.min(last, this.log.unstable.offset - 1);
    for (const [id, pr] of this.tracker.progress) {
      pr.match = id === this.id ? persisted : 0;
      pr.next = last + 1;
      pr.state = ProgressState.Probe;
      pr.pendingSnapshot = 0;
      pr.probeSent = false;
      pr.recentActive = false;
      pr.inflights.reset();
    }
    this.pendingConfIndex = 0;
    this.uncommittedSizeBytes = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
    this.readLease = new ReadLease();
    this.leaseRoundWanted = false;
  }

  /**
   * The link to the leader broke: a follower replaces the random part of its election timeout
   * with `extraTicks` and campaigns that many ticks after the base timeout, even where its
   * random draw was shorter. Followers given distinct extras campaign in that order, whatever
   * they drew: two whose timeouts ended on the same tick would both pass pre-vote (each
   * grants the other, both having left the old leader) and split the vote, costing a whole
   * random timeout more. Any node may campaign at any time without harm to safety; pre-vote
   * and the voters' leader lease (check-quorum) keep an early campaign from disrupting a
   * leader that still lives. The timeout is drawn again at the next term.
   */
  expediteElection(extraTicks: number): void {
    assert(extraTicks >= 1, 'an expedited election still waits past the base timeout');
    if (this.role !== Role.Follower || this.leader === NONE) return;
    this.randomizedElectionTimeoutTicks = this.cfg.electionTimeoutTicks + extraTicks;
  }

  /**
   * The initial election advance, staggered: a follower that knows no leader replaces the
   * random part of its election timeout with `extraTicks`. Members that start together and
   * are given distinct extras campaign in that order instead of on whatever ticks they drew,
   * so the first election is not split and never waits for an unlucky draw. Followers that
   * know a leader, candidates and leaders ignore it. The timeout is drawn again at the next term.
   */
  staggerInitialElection(extraTicks: number): void {
    assert(extraTicks >= 0, 'an election timeout is never below the base');
    if (this.role !== Role.Follower || this.leader !== NONE) return;
    this.randomizedElectionTimeoutTicks = this.cfg.electionTimeoutTicks + extraTicks;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeoutTicks =
      this.cfg.electionTimeoutTicks + this.cfg.prng.nextInt(this.cfg.electionTimeoutTicks);
  }

  /** Becomes a follower of `leader` (or of nobody yet) in `term`. */
  becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.leader = leader;
    this.role = Role.Follower;
    this.cfg.logger?.debug({ term, leader }, 'became follower');
  }

  private becomeCandidate(): void {
    assert(this.role !== Role.Leader, 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.cfg.logger?.debug({ term: this.term }, 'became candidate');
  }

  private becomePreCandidate(): void {
    assert(this.role !== Role.Leader, 'invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither its term nor its vote: the pre-election is a question, not a campaign.
    this.tracker.resetVotes();
    this.leader = NONE;
    this.role = Role.PreCandidate;
    this.cfg.logger?.debug({ term: this.term }, 'became pre-candidate');
  }

  private becomeLeader(): void {
    assert(this.role !== Role.Follower, 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.leader = this.id;
    this.role = Role.Leader;
    const self = this.tracker.progress.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // Any configuration change in the uncommitted tail may be pending: be conservative.
    this.pendingConfIndex = this.log.lastIndex();
    // The no-op entry of the new term (thesis 6.4): commits earlier terms' entries and enables reads.
    const ok = this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    assert(ok, 'empty entry was dropped');
    this.cfg.logger?.info({ term: this.term, lastIndex: this.log.lastIndex() }, 'became leader');
  }

  // ------------------------------------------------------------- elections

  /** Whether this member may campaign: a voter, with no snapshot pending, not held by its driver. */
  promotable(): boolean {
    const pr = this.tracker.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasPendingSnapshot() && !this.campaignHeld;
  }

  /**
   * Holds this member back from campaigning (timeouts, TimeoutNow, a driver's campaign) while
   * it still votes, appends and acknowledges: a driver whose state machine is not loaded yet
   * lets the cluster reach a quorum through it, but must not lead before it can apply.
   */
  holdCampaign(held: boolean): void {
    this.campaignHeld = held;
  }

  private hup(kind: CampaignKind): void {
    if (this.role === Role.Leader) return;
    if (!this.promotable()) {
      this.cfg.logger?.debug({}, 'not promotable; not campaigning');
      return;
    }
    // A configuration change that is committed but not applied may change who votes: wait for it.
    if (this.log.applied < this.log.committed) {
      const ents = this.log.slice(
        Math.max(this.log.applied + 1, this.log.firstIndex()),
        this.log.committed + 1,
        Number.POSITIVE_INFINITY,
      );
      if (ents.some((e) => e.type === EntryType.ConfChange)) {
        this.cfg.logger?.warn({ term: this.term }, 'cannot campaign with unapplied configuration changes');
        return;
      }
    }
    this.campaign(kind);
  }

  private campaign(kind: CampaignKind): void {
    let voteType: MessageType;
    let term: number;
    if (kind === CampaignKind.PreElection) {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      // Ask as if for the next term, without taking it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    // Vote for ourselves first: a single-voter configuration wins at once.
    if (this.poll(this.id, voteRespType(voteType), true) === VoteResult.Won) {
      if (kind === CampaignKind.PreElection) this.campaign(CampaignKind.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.tracker.config.voters.ids()) {
      if (id === this.id) continue;
      this.send({
        type: voteType,
        to: id,
        term,
        index: lastIndex,
        logTerm: lastTerm,
        context: kind === CampaignKind.Transfer ? CAMPAIGN_TRANSFER : undefined,
      });
    }
  }

  private poll(id: NodeId, t: MessageType, granted: boolean): VoteResult {
    this.cfg.logger?.debug({ from: id, type: MessageType[t], granted, term: this.term }, 'vote received');
    this.tracker.recordVote(id, granted);
    return this.tracker.tallyVotes().result;
  }

  // ----------------------------------------------------------------- ticks

  /** Advances time by one tick. */
  tick(): void {
    if (!this.cfg.leaseClockByDriver) this.leaseClockTicks++;
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  /**
   * Moves a follower's or candidate's election clock `ticks` ahead, as that many ticks would,
   * without moving the lease clock (a driver's initial election advance, not time passing).
   */
  advanceElectionClock(ticks: number): void {
    if (this.role === Role.Leader) return;
    for (let i = 0; i < ticks; i++) this.tickElection();
  }

  /**
   * Moves the lease clock forward to `ticks` (never back): a driver whose tick() calls may
   * fall behind real time (timers fire late under load) keeps the clock at 1 + the whole
   * ticks a monotonic clock counted since this node was made, and calls this before every
   * step, read and tick (leaseClockByDriver).
   */
  advanceLeaseClock(ticks: number): void {
    if (ticks > this.leaseClockTicks) this.leaseClockTicks = ticks;
  }

  /** Whether reads are served under a leader lease (ReadOnlyOption.LeaseBased). */
  leaseMode(): boolean {
    return this.cfg.readOnlyOption === ReadOnlyOption.LeaseBased;
  }

  /**
   * Lease mode, for the first electionTimeoutTicks ticks after a restart: this node may have
   * acknowledged a leader's heartbeat just before it and forgotten it, so it neither votes
   * for another candidate nor campaigns until that leader's lease has run out.
   */
  private inStartupLease(): boolean {
    return (
      this.leaseMode() && this.startedWithTerm && this.leaseClockTicks - 1 < this.cfg.electionTimeoutTicks
    );
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsedTicks >= this.randomizedElectionTimeoutTicks;
  }

  private tickElection(): void {
    this.electionElapsedTicks++;
    if (this.promotable() && this.pastElectionTimeout() && !this.inStartupLease()) {
      this.electionElapsedTicks = 0;
      this.step(this.local(MessageType.Hup));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsedTicks++;
    this.electionElapsedTicks++;
    if (this.electionElapsedTicks >= this.cfg.electionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      if (this.cfg.checkQuorum) this.step(this.local(MessageType.CheckQuorum));
      // A transfer that did not finish within an election timeout is abandoned; a removed
      // leader then steps down regardless.
      if (this.isRemovedLeader()) this.becomeFollower(this.term, NONE);
      if (this.role === Role.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsedTicks >= this.cfg.heartbeatIntervalTicks) {
      this.heartbeatElapsedTicks = 0;
      this.step(this.local(MessageType.Beat));
    }
  }

  /** A local message (term 0, from this node). */
  local(type: MessageType, extra: Partial<Omit<Message, 'type'>> = {}): Message {
    return message(type, { to: this.id, from: this.id, ...extra });
  }

  // ------------------------------------------------------------ proposals

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    const s = payloadSizeBytes(ents);
    // An empty or the first proposal is always let through, so that progress is always possible.
    if (
      this.uncommittedSizeBytes > 0 &&
      s > 0 &&
      this.uncommittedSizeBytes + s > this.cfg.uncommittedSizeBytesMax
    )
      return false;
    this.uncommittedSizeBytes += s;
    return true;
  }

  /** Releases the uncommitted budget of entries that were applied. */
  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSizeBytes === 0) return;
    const s = payloadSizeBytes(ents);
    this.uncommittedSizeBytes = s > this.uncommittedSizeBytes ? 0 : this.uncommittedSizeBytes - s;
  }

  private appendEntry(es: readonly Entry[]): boolean {
    let li = this.log.lastIndex();
    const ents: Entry[] = es.map((e) => ({ term: this.term, index: ++li, type: e.type, data: e.data }));
    if (!this.increaseUncommittedSize(ents)) return false;
    this.log.append(ents);
    // The leader's own acknowledgment comes in onPersisted(), once these entries are synced:
    // counting them now would let a single-voter leader commit, and announce the commit in
    // messages it sends before its own write completes, entries a crash could still lose.
    return true;
  }

  /**
   * The driver synced entries up to (index, term): on a leader this is its own
   * acknowledgment, which may complete a quorum.
   */
  onPersisted(index: number, term: number): void {
    if (this.role !== Role.Leader || this.log.termOrZero(index) !== term) return;
    const self = this.tracker.progress.get(this.id);
    if (self?.maybeUpdate(index) && this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    }
  }

  // ----------------------------------------------------------------- step

  /**
   * Handles one message. Throws CairnError (PROPOSAL_DROPPED, OVERLOADED, TOO_LARGE,
   * CONF_CHANGE_REJECTED) only for proposals and reads that cannot be accepted.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // Local message (or a forwarded proposal / read request).
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = isTransferContext(m.context);
        const inLease =
          (this.cfg.checkQuorum &&
            this.leader !== NONE &&
            this.electionElapsedTicks < this.cfg.electionTimeoutTicks) ||
          this.inStartupLease();
        if (!force && inLease) {
          // We heard from a leader within the minimum election timeout: a healthy leader
          // exists, so this campaign is disruptive (thesis 4.2.3). Ignore it entirely.
          this.cfg.logger?.debug(
            { from: m.from, term: m.term, type: MessageType[m.type] },
            'ignored vote request within leader lease',
          );
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term; the term changes only when we campaign.
      } else {
        const lead =
          m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap
            ? m.from
            : NONE;
        this.becomeFollower(m.term, lead);
      }
    } else if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === MessageType.Heartbeat || m.type === MessageType.App)
      ) {
        // A stale leader: tell it our term so it steps down. Without this, a partitioned
        // node with a higher term could never rejoin under pre-vote/check-quorum.
        this.send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.cfg.preVote ? CampaignKind.PreElection : CampaignKind.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.leader === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          // The response carries the request's term: for a pre-vote that is a term we have not taken.
          this.send({ type: voteRespType(m.type), to: m.from, term: m.term });
          if (m.type === MessageType.Vote) {
            this.electionElapsedTicks = 0;
            this.vote = m.from;
          }
        } else {
          // The rejection carries our commit index and its term: a candidate holding that
          // same entry learns it is committed. Without this, a voter that missed the commit
          // of its peer's removal could wait forever for that removed peer's vote.
          const commit = this.log.committed;
          this.send({
            type: voteRespType(m.type),
            to: m.from,
            term: this.term,
            reject: true,
            commit,
            logTerm: this.log.termOrZero(commit),
          });
        }
        return;
      }
      case MessageType.VoteResp:
      case MessageType.PreVoteResp:
        if (m.reject) this.learnCommitFromVoter(m);
        break;
      default:
        break;
    }
    switch (this.role) {
      case Role.Leader:
        this.stepLeader(m);
        return;
      case Role.Candidate:
      case Role.PreCandidate:
        this.stepCandidate(m);
        return;
      case Role.Follower:
        this.stepFollower(m);
        return;
      default:
        unreachable(this.role, 'role');
    }
  }

  /**
   * Adopts a voter's commit index when our log holds the same entry there: by Log Matching
   * our prefix up to it is the voter's, and a committed entry stays committed.
   */
  private learnCommitFromVoter(m: Message): void {
    if (m.commit <= this.log.committed || m.logTerm === 0) return;
    if (m.commit > this.log.lastIndex() || !this.log.matchTerm(m.commit, m.logTerm)) return;
    this.cfg.logger?.debug({ from: m.from, commit: m.commit }, 'learned commit index from a voter');
    this.log.commitTo(m.commit);
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.tracker.quorumActive()) {
          this.cfg.logger?.warn({ term: this.term }, 'stepping down: a quorum is not active');
          this.becomeFollower(this.term, NONE);
        }
        for (const [id, pr] of this.tracker.progress) pr.recentActive = id === this.id;
        return;
      case MessageType.Prop:
        this.handleProposal(m);
        return;
      case MessageType.ReadIndex:
        this.handleReadIndex(m);
        return;
      default:
        break;
    }

    const pr = this.tracker.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MessageType.AppResp: {
        pr.recentActive = true;
        if (m.reject) {
          let nextProbeIdx = m.rejectHint;
          if (m.logTerm > 0) nextProbeIdx = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
          if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return;
        }
        const oldPaused = pr.isPaused();
        if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
          switch (pr.state) {
            case ProgressState.Probe:
              pr.becomeReplicate();
              break;
            case ProgressState.Snapshot:
              if (pr.match + 1 >= this.log.firstIndex()) {
                pr.becomeProbe();
                pr.becomeReplicate();
              }
              break;
            case ProgressState.Replicate:
              pr.inflights.freeLE(m.index);
              break;
          }
          if (this.maybeCommit()) {
            this.releasePendingReadIndexMessages();
            this.bcastAppend();
          } else if (oldPaused) {
            this.sendAppend(m.from);
          }
          // Keep the pipeline full while there is more to send.
          while (this.maybeSendAppend(m.from, false)) {
            // sending
          }
          if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
            this.cfg.logger?.info({ to: m.from }, 'transferee caught up; sending TimeoutNow');
            this.sendTimeoutNow(m.from);
            if (this.isRemovedLeader()) this.becomeFollower(this.term, NONE);
          }
        }
        return;
      }
      case MessageType.HeartbeatResp: {
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
        if (this.leaseMode()) {
          this.readLease.recordAck(m.from, m.index);
          this.releaseLeaseReads();
        }
        // A context is a ReadIndex round's (Safe mode, or lease mode after a forfeit).
        if (!m.context || m.context.byteLength === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (!acks) return;
        const votes = new Map<NodeId, boolean>();
        for (const id of acks) votes.set(id, true);
        if (this.tracker.config.voters.voteResult(votes) !== VoteResult.Won) return;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.request, rs.index);
        return;
      }
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for the next heartbeat response (or append response) before probing again.
        pr.probeSent = true;
        return;
      case MessageType.Unreachable:
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
      case MessageType.TransferLeader: {
        if (pr.isLearner) {
          this.cfg.logger?.debug({ to: m.from }, 'ignored transfer to a learner');
          return;
        }
        const target = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === target) return;
          this.abortLeaderTransfer();
        }
        if (target === this.id) return;
        // The transfer must finish within one election timeout.
        this.electionElapsedTicks = 0;
        this.leadTransferee = target;
        if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
        else this.sendAppend(target);
        return;
      }
      default:
        return;
    }
  }

  private handleProposal(m: Message): void {
    const local = m.from === this.id || m.from === NONE;
    if (m.entries.length === 0) throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'proposal without entries');
    if (!this.tracker.progress.has(this.id)) throw dropped('this leader was removed from the configuration');
    if (this.leadTransferee !== NONE) throw dropped('leadership transfer in progress', this.leadTransferee);
    let ents = m.entries;
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.type !== EntryType.ConfChange) continue;
      const refusal = this.confChangeRefusal(e.data);
      if (refusal !== undefined) {
        if (local) throw new CairnError(ErrorCode.CONF_CHANGE_REJECTED, refusal);
        // A forwarded change that cannot be accepted becomes a no-op: the proposer times out.
        this.cfg.logger?.info({ from: m.from, reason: refusal }, 'ignoring forwarded conf change');
        ents = ents.map((x, j) => (j === i ? { ...x, type: EntryType.Normal, data: new Uint8Array(0) } : x));
      } else {
        this.pendingConfIndex = this.log.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntry(ents)) {
      throw new CairnError(
        ErrorCode.OVERLOADED,
        'too many uncommitted bytes on the leader; proposal refused',
      );
    }
    this.bcastAppend();
  }

  /** Why a configuration change cannot be proposed now, or undefined if it can. */
  private confChangeRefusal(data: Uint8Array): string | undefined {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(data);
    } catch (err) {
      return (err as Error).message;
    }
    const alreadyPending = this.pendingConfIndex > this.log.applied;
    const alreadyJoint = this.tracker.config.voters.isJoint();
    const wantsLeaveJoint = isLeaveJoint(cc);
    if (alreadyPending)
      return `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.log.applied})`;
    if (alreadyJoint && !wantsLeaveJoint) return 'must transition out of joint config first';
    if (!alreadyJoint && wantsLeaveJoint) return 'not in joint state; refusing empty conf change';
    try {
      applyConfChangeTo(this.currentConfig(), this.changerContext(), cc);
    } catch (err) {
      return (err as Error).message;
    }
    return undefined;
  }

  private handleReadIndex(m: Message): void {
    // Until this leader has committed an entry of its term it does not know the latest
    // commit index (thesis 6.4 step 1): hold the read. This holds for a single voter too:
    // a previous leader may have committed entries this one does not yet know are committed.
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReadIndexMessages.push(m);
      return;
    }
    this.acceptReadIndex(m);
  }

  private acceptReadIndex(m: Message): void {
    // A single voter needs nobody to confirm its leadership.
    if (this.tracker.isSingleton()) {
      this.respondToReadIndex(m, this.log.committed);
      return;
    }
    if (this.leaseMode() && !this.readLease.forfeited) {
      if (this.leaseHolds()) {
        this.respondToReadIndex(m, this.log.committed);
      } else {
        this.readLease.wait(m);
        this.leaseRoundWanted = true;
      }
      return;
    }
    this.queueReadRound(m);
  }

  /** Whether this node would answer a read now under its lease: a lease-mode leader, with an entry of its term committed, holding its lease. */
  holdsReadLease(): boolean {
    return (
      this.role === Role.Leader && this.leaseMode() && this.committedEntryInCurrentTerm() && this.leaseHolds()
    );
  }

  /** Whether this leader holds its read lease now (lease mode; false once forfeited). */
  private leaseHolds(): boolean {
    return this.readLease.holds(this.tracker.config.voters, this.id, this.leaseClockTicks, this.leaseTicks);
  }

  /** Answers the reads waiting for the lease, if it holds now. */
  private releaseLeaseReads(): void {
    if (this.readLease.waitingCount === 0 || !this.leaseHolds()) return;
    for (const r of this.readLease.takeWaiting()) this.respondToReadIndex(r, this.log.committed);
  }

  /** Queues a read for the next ReadIndex heartbeat round (thesis 6.4). */
  private queueReadRound(m: Message): void {
    this.readOnly.addRequest(this.log.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    // The heartbeat round is sent when the next Ready is built, shared by all reads queued until then.
  }

  private respondToReadIndex(req: Message, readIndex: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, context: req.context ?? new Uint8Array(0) });
    } else {
      this.send({ type: MessageType.ReadIndexResp, to: req.from, index: readIndex, context: req.context });
    }
  }

  /** Whether the commit index points at an entry of this term. */
  committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.acceptReadIndex(m);
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        throw dropped('no leader');
      case MessageType.ReadIndex:
        throw dropped('no leader');
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        const result = this.poll(m.from, m.type, !m.reject);
        if (result === VoteResult.Won) {
          if (this.role === Role.PreCandidate) {
            this.campaign(CampaignKind.Election);
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.Lost) {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.leader === NONE) throw dropped('no leader');
        if (this.cfg.disableProposalForwarding)
          throw new CairnError(ErrorCode.NOT_LEADER, 'not the leader; forwarding disabled', this.leader);
        this.send({ ...m, to: this.leader, term: 0 });
        return;
      case MessageType.App:
        this.electionElapsedTicks = 0;
        this.leader = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsedTicks = 0;
        this.leader = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsedTicks = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.leader === NONE)
          throw new CairnError(ErrorCode.TRANSFER_REJECTED, 'no leader to transfer from');
        this.send({ ...m, to: this.leader, term: 0 });
        return;
      case MessageType.TimeoutNow:
        this.cfg.logger?.info(
          { from: m.from, term: this.term },
          'received TimeoutNow; campaigning for transfer',
        );
        // Skip the pre-vote: the leader asked for this, and voters will grant it despite their lease.
        this.hup(CampaignKind.Transfer);
        return;
      case MessageType.ReadIndex:
        if (this.leader === NONE) throw dropped('no leader');
        this.send({ ...m, to: this.leader, term: 0 });
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array(0) });
        return;
      default:
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: MessageType.AppResp, to: m.from, index: lastNew });
      return;
    }
    // Reject with a hint: the largest index at or below the leader's probe whose term is at
    // most the leader's term there. The leader skips the whole conflicting term at once.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({
      type: MessageType.AppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    // Echo the lease stamp (index) and the ReadIndex round (context).
    this.send({ type: MessageType.HeartbeatResp, to: m.from, index: m.index, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (!snap) return;
    if (this.restore(snap)) {
      this.cfg.logger?.info({ index: snap.metadata.index, term: snap.metadata.term }, 'restored snapshot');
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
    }
  }

  /** Installs a snapshot from the leader; returns false if it is stale or not for us. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.log.committed) return false;
    if (this.log.applying > this.log.applied) {
      // Committed entries handed to the application are still being applied; switching to
      // the snapshot's configuration now would put their configuration changes out of
      // order. Decline; the leader sends the snapshot again.
      this.cfg.logger?.debug(
        { index: s.metadata.index },
        'declining a snapshot while entries are being applied',
      );
      return false;
    }
    if (this.role !== Role.Follower) {
      // Only a follower installs snapshots; anything else means a bug elsewhere. Step down safely.
      this.cfg.logger?.warn({ role: this.role }, 'attempted to restore a snapshot while not a follower');
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    const found = [...cs.voters, ...cs.learners, ...cs.votersOutgoing].includes(this.id);
    if (!found) {
      this.cfg.logger?.warn(
        { index: s.metadata.index },
        'ignoring a snapshot whose configuration does not include this node',
      );
      return false;
    }
    if (this.log.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the entries the snapshot covers: fast-forward the commit index.
      this.log.commitTo(s.metadata.index);
      return false;
    }
    this.log.restore(s);
    const cp = restoreConfState(cs, this.changerContext());
    this.switchToConfig(cp);
    const pr = this.tracker.progress.get(this.id)!;
    pr.maybeUpdate(pr.next - 1);
    return true;
  }

  // ---------------------------------------------------- leadership transfer

  private sendTimeoutNow(to: NodeId): void {
    this.forfeitReadLease();
    this.send({ type: MessageType.TimeoutNow, to });
  }

  /**
   * The transferee will campaign past the voters' lease: stop serving reads under it for the
   * rest of this term, and move the reads waiting for it to a ReadIndex round.
   */
  private forfeitReadLease(): void {
    if (!this.leaseMode() || this.readLease.forfeited) return;
    this.readLease.forfeited = true;
    this.leaseRoundWanted = false;
    for (const r of this.readLease.takeWaiting()) this.queueReadRound(r);
  }

  /** Gives up a transfer in progress. */
  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ------------------------------------------------------ configuration

  private currentConfig(): ConfigAndProgress {
    return { config: this.tracker.config, progress: this.tracker.progress };
  }

  private changerContext(): { lastIndex: number; inflightMessagesMax: number } {
    return { lastIndex: this.log.lastIndex(), inflightMessagesMax: this.cfg.inflightMessagesMax };
  }

  /** Applies a committed configuration change and returns the resulting configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    const cp = applyConfChangeTo(this.currentConfig(), this.changerContext(), cc);
    return this.switchToConfig(cp);
  }

  private switchToConfig(cp: ConfigAndProgress): ConfState {
    this.tracker = new ProgressTracker(cp.config, cp.progress);
    const cs = this.tracker.confState();
    const pr = this.tracker.progress.get(this.id);
    this.isLearner = pr?.isLearner ?? false;
    if ((!pr || this.isLearner) && this.role === Role.Leader) {
      this.handOverAfterRemoval(cs);
      return cs;
    }
    if ((!pr || this.isLearner) && (this.role === Role.Candidate || this.role === Role.PreCandidate)) {
      // No longer a voter: this campaign must not succeed.
      this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.role !== Role.Leader || cs.voters.length === 0) return cs;
    // The quorum may have changed: a commit may now be possible, and new members need appends.
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else {
      for (const id of this.tracker.memberIds()) if (id !== this.id) this.maybeSendAppend(id, false);
    }
    if (this.leadTransferee !== NONE && !this.tracker.config.voters.has(this.leadTransferee))
      this.abortLeaderTransfer();
    return cs;
  }

  /** Whether this leader is no longer a voter and only waits to hand leadership over. */
  private isRemovedLeader(): boolean {
    const self = this.tracker.progress.get(this.id);
    return this.role === Role.Leader && (!self || self.isLearner);
  }

  /**
   * Removed (or demoted) while leading (thesis 4.2.2): the remaining voters may not know yet
   * that the removal committed, and may still need this node's vote, which it would refuse
   * to a shorter log. So the leader first catches up the most up-to-date remaining voter and
   * hands leadership to it (TimeoutNow), then steps down. If that does not finish within an
   * election timeout it steps down anyway.
   */
  private handOverAfterRemoval(cs: ConfState): void {
    let target: NodeId = NONE;
    let best = -1;
    for (const id of cs.voters) {
      const m = this.tracker.progress.get(id)?.match ?? -1;
      if (m > best) {
        best = m;
        target = id;
      }
    }
    if (target === NONE) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    this.cfg.logger?.info(
      { term: this.term, to: target },
      'removed from the configuration; handing leadership over',
    );
    this.leadTransferee = target;
    this.electionElapsedTicks = 0;
    if (best === this.log.lastIndex()) {
      this.sendTimeoutNow(target);
      this.becomeFollower(this.term, NONE);
    } else {
      this.sendAppend(target);
    }
  }

  /** Called once the application applied up to index: leaves an automatic joint configuration when due. */
  appliedTo(index: number): void {
    const oldApplied = this.log.applied;
    this.log.appliedTo(Math.max(index, oldApplied));
    const cfg = this.tracker.config;
    if (
      cfg.autoLeave &&
      cfg.voters.isJoint() &&
      this.log.applied >= this.pendingConfIndex &&
      this.role === Role.Leader
    ) {
      // The joint configuration is in force and applied: propose to leave it (thesis 4.3).
      try {
        this.step(
          this.local(MessageType.Prop, {
            from: NONE,
            entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: LEAVE_JOINT_DATA }],
          }),
        );
        this.cfg.logger?.info({ index: this.pendingConfIndex }, 'proposed leaving the joint configuration');
      } catch (err) {
        this.cfg.logger?.debug(
          { err: (err as Error).message },
          'could not propose leaving joint configuration yet',
        );
      }
    }
  }
}
