/**
 * The raft core's public face, in the shape of etcd-io/raft's RawNode: the driver calls
 * tick(), step(), propose() and friends, then takes a Ready, carries it out (persist,
 * send, apply) and calls advance(). Nothing leaves the core except through ready(), and
 * ready() must not be called again before advance(): that is what makes it safe for a
 * leader to count itself towards a commit before its own write is synced, because no
 * consequence of that commit can escape before the write completes.
 */
import { assert } from '../common/assert.js';
import { CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import { coalesceMessages } from './coalesce.js';
import { encodeConfChange } from './confchange-codec.js';
import type { RaftConfig } from './config.js';
import type { ProgressState } from './progress.js';
import { Raft } from './raft.js';
import {
  type ConfChange,
  type ConfState,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type Ready,
  Role,
  type SoftState,
} from './types.js';

/** A snapshot of the node's state for status endpoints, tests and the simulator. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly leader: NodeId;
  readonly role: Role;
  readonly config: ConfState;
  readonly leadTransferee: NodeId;
  readonly lastIndex: number;
  /** Per-member replication progress; present on the leader only. */
  readonly progress?: ReadonlyMap<
    NodeId,
    { match: number; next: number; state: ProgressState; learner: boolean }
  >;
}

/** Message types that only the node itself may produce; refused from the network. */
const LOCAL_ONLY = new Set<MessageType>([
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Unreachable,
  MessageType.SnapStatus,
  MessageType.CheckQuorum,
]);

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The driver's handle on one raft member. */
export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** Invariant: true between ready() and advance(). */
  private readyOutstanding = false;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    // What is on disk, not what the core holds: a founding member's bootstrap changes the
    // hard state (term 1, commit) and that must reach the disk in the first Ready.
    this.prevHardState = config.storage.initialState().hardState;
  }

  /** Advances the logical clock by one tick (elections, heartbeats, check-quorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (tests, or a node that knows it should lead). */
  campaign(): void {
    this.raft.step(this.raft.local(MessageType.Hup));
  }

  /**
   * Proposes a command. Throws PROPOSAL_DROPPED (no leader, transfer in progress),
   * NOT_LEADER (forwarding disabled, with a leader hint), OVERLOADED (uncommitted bytes
   * over the limit) or TOO_LARGE (bigger than one message may carry).
   */
  propose(data: Uint8Array): void {
    if (data.byteLength > this.raft.cfg.messageSizeBytesMax) {
      throw new CairnError(
        ErrorCode.TOO_LARGE,
        `proposal of ${data.byteLength} bytes exceeds the ${this.raft.cfg.messageSizeBytesMax}-byte message limit`,
      );
    }
    this.raft.step(
      this.raft.local(MessageType.Prop, { entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }),
    );
  }

  /** Proposes a configuration change; throws CONF_CHANGE_REJECTED when it cannot be accepted now. */
  proposeConfChange(cc: ConfChange): void {
    const data = encodeConfChange(cc);
    this.raft.step(
      this.raft.local(MessageType.Prop, {
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }],
      }),
    );
  }

  /** Applies a committed configuration change (the driver calls this when applying its entry). */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Delivers a message from a peer. Local-only types and malformed messages are ignored;
   * a forwarded proposal the leader cannot accept is dropped (its proposer times out).
   */
  step(m: Message): void {
    if (LOCAL_ONLY.has(m.type)) return;
    if (m.from === NONE) return;
    if (m.term === 0 && m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) return;
    // A response from a member we do not know must not affect progress (it was removed).
    try {
      this.raft.step(m);
    } catch (err) {
      if (
        isCairnError(err) &&
        (m.type === MessageType.Prop ||
          m.type === MessageType.ReadIndex ||
          m.type === MessageType.TransferLeader)
      )
        return;
      throw err;
    }
  }

  /**
   * Asks for a linearizable read. The answer appears in a later Ready's readStates with the
   * same context; the read may be served once applied >= its index. Throws
   * PROPOSAL_DROPPED when there is no leader.
   */
  readIndex(context: Uint8Array): void {
    this.raft.step(this.raft.local(MessageType.ReadIndex, { context }));
  }

  /** Asks the leader to hand leadership to `to` (catch it up, then TimeoutNow; thesis 3.10). */
  transferLeadership(to: NodeId): void {
    this.raft.step(this.raft.local(MessageType.TransferLeader, { from: to }));
  }

  /** Tells the leader that a message to `id` could not be delivered. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(this.raft.local(MessageType.Unreachable, { from: id }));
  }

  /** Tells the leader whether a snapshot to `id` was delivered. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(this.raft.local(MessageType.SnapStatus, { from: id, reject: !ok }));
  }

  /** Whether ready() has anything to hand out. */
  hasReady(): boolean {
    const r = this.raft;
    if (r.role === Role.Leader && (r.readOnly.needsBroadcast() || r.leaseRoundWanted)) return true;
    const ss = r.softState();
    if (ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role) return true;
    if (!sameHardState(r.hardState(), this.prevHardState)) return true;
    if (r.log.unstable.snapshot) return true;
    return (
      r.msgs.length > 0 ||
      r.log.unstableEntries().length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEntries()
    );
  }

  /** Takes what must be persisted, sent and applied now. Call advance() when done with it. */
  ready(): Ready {
    assert(!this.readyOutstanding, 'ready() called again before advance()');
    const r = this.raft;
    r.flushReadIndexBroadcast();
    const ss = r.softState();
    const hs = r.hardState();
    const entries = [...r.log.unstableEntries()];
    const committedEntries = r.log.nextCommittedEntries();
    const softChanged = ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role;
    const hardChanged = !sameHardState(hs, this.prevHardState);
    const rd: Ready = {
      softState: softChanged ? ss : undefined,
      hardState: hardChanged ? hs : undefined,
      readStates: r.readStates,
      entries,
      snapshot: r.log.unstable.snapshot,
      committedEntries,
      messages: coalesceMessages(r.msgs, r.cfg.messageSizeBytesMax),
      mustSync:
        entries.length > 0 || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote,
    };
    r.msgs = [];
    r.readStates = [];
    if (softChanged) this.prevSoftState = ss;
    if (hardChanged) this.prevHardState = hs;
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted) r.log.applyingTo(lastCommitted.index);
    this.readyOutstanding = true;
    return rd;
  }

  /** Acknowledges that the last Ready was persisted, sent and applied. */
  advance(rd: Ready): void {
    assert(this.readyOutstanding, 'advance() without a ready()');
    this.readyOutstanding = false;
    const r = this.raft;
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) {
      r.log.stableTo(lastEntry.index, lastEntry.term);
      r.onPersisted(lastEntry.index, lastEntry.term);
    }
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.metadata.index);
      r.appliedTo(rd.snapshot.metadata.index);
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) {
      if (r.role === Role.Leader) r.reduceUncommittedSize(rd.committedEntries);
      r.appliedTo(lastCommitted.index);
    }
  }

  /** The term of the entry at index in this node's log (persisted or not), or 0 where the log has none. */
  termAt(index: number): number {
    return this.raft.log.termOrZero(index);
  }

  /** The link to the leader broke: campaign `extraTicks` after the base election timeout, instead of after a random extra (see Raft.expediteElection). */
  expediteElection(extraTicks: number): void {
    this.raft.expediteElection(extraTicks);
  }

  /** At the initial election advance: a leaderless follower campaigns `extraTicks` after the base election timeout, instead of after a random extra (see Raft.staggerInitialElection). */
  staggerInitialElection(extraTicks: number): void {
    this.raft.staggerInitialElection(extraTicks);
  }

  /** Holds this node back from campaigning, or lets it campaign again (see Raft.holdCampaign). */
  holdCampaign(held: boolean): void {
    this.raft.holdCampaign(held);
  }

  /** Moves the election clock of a node that does not lead `ticks` ahead, leaving the lease clock (see Raft.advanceElectionClock). */
  advanceElectionClock(ticks: number): void {
    this.raft.advanceElectionClock(ticks);
  }

  /** Whether this node is a leader that would answer a read now under its lease (lease mode). */
  holdsReadLease(): boolean {
    return this.raft.holdsReadLease();
  }

  /** Moves the lease clock forward to `ticks` (leaseClockByDriver; see Raft.advanceLeaseClock). */
  advanceLeaseClock(ticks: number): void {
    this.raft.advanceLeaseClock(ticks);
  }

  /** The leader this node knows of (NONE: none); cheaper than status(). */
  get leader(): NodeId {
    return this.raft.leader;
  }

  /** This node's role; cheaper than status(), which copies the configuration (and the progress, on a leader). */
  get role(): Role {
    return this.raft.role;
  }

  /** The member leadership is being transferred to, or NONE; cheaper than status(). */
  get leadTransferee(): NodeId {
    return this.raft.leadTransferee;
  }

  /** The node's current state. */
  status(): RaftStatus {
    const r = this.raft;
    const base = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      leader: r.leader,
      role: r.role,
      config: r.tracker.confState(),
      leadTransferee: r.leadTransferee,
      lastIndex: r.log.lastIndex(),
    };
    return r.role === Role.Leader ? { ...base, progress: r.tracker.describe() } : base;
  }
}
