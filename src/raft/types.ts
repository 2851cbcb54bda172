/**
 * The raft core's data model: entries, messages, hard state, snapshots, configurations and
 * the Ready batch. Plain data only, so that storage and transport can encode it and the
 * simulator can copy it. Shapes follow etcd-io/raft's raftpb where the meaning is the same.
 */

/** A member's id. Non-zero; 0 means "nobody" (no leader, no vote). */
export type NodeId = number;

/** The id that means "no node": no leader known, no vote cast. */
export const NONE: NodeId = 0;

/** What an entry carries: a client command or a configuration change. */
export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

/** One replicated log entry. Invariant: index >= 1, term >= 1. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** The command; empty for the leader's no-op entry at the start of its term. */
  readonly data: Uint8Array;
}

/** The state that must be on disk before any message that depends on it is sent (thesis 3.8). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/** The voters and learners of a configuration, including a joint one (thesis 4.3). */
export interface ConfState {
  /** Voters of the incoming (or only) configuration. */
  readonly voters: readonly NodeId[];
  /** Learners: receive the log, never vote, never count for quorum. */
  readonly learners: readonly NodeId[];
  /** Voters of the outgoing configuration while joint; empty when not joint. */
  readonly votersOutgoing: readonly NodeId[];
  /** Voters of the outgoing config that become learners once the joint config is left. */
  readonly learnersNext: readonly NodeId[];
  /** Whether the leader leaves the joint configuration by itself once it is committed. */
  readonly autoLeave: boolean;
}

/** Where a snapshot sits in the log and which configuration it carries. */
export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

/** A state machine image up to metadata.index; data is opaque to raft. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** Every message kind, local (Hup, Beat, Prop, ...) and on the wire. Numbers are stable: they go on the wire. */
export enum MessageType {
  /** Local: start an election now. */
  Hup = 0,
  /** Local: the leader should send heartbeats now. */
  Beat = 1,
  /** A proposal (local, or forwarded from a follower to the leader). */
  Prop = 2,
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  Snap = 7,
  Heartbeat = 8,
  HeartbeatResp = 9,
  /** Local: the transport could not reach a peer. */
  Unreachable = 10,
  /** Local: the transport finished (or failed) sending a snapshot. */
  SnapStatus = 11,
  /** Local: the leader should check that a quorum is still active. */
  CheckQuorum = 12,
  TransferLeader = 13,
  TimeoutNow = 14,
  ReadIndex = 15,
  ReadIndexResp = 16,
  PreVote = 17,
  PreVoteResp = 18,
}

/**
 * A raft message. Fields unused by a type are zero/empty. Invariant: `from` and `to` are
 * non-zero for every message that crosses the wire.
 */
export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: number;
  /** Term of the entry at `index` (App: of the entry before `entries`; votes: of the last entry). */
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  /** Only on Snap. */
  readonly snapshot?: Snapshot | undefined;
  readonly reject: boolean;
  /** On a rejected AppResp: the follower's hint for where the leader should probe next. */
  readonly rejectHint: number;
  /** ReadIndex request context; vote campaign kind (transfer) on Vote/PreVote. */
  readonly context?: Uint8Array | undefined;
}

/** A message of `type` with the given fields and every other field zero or empty. */
export function message(type: MessageType, fields: Partial<Omit<Message, 'type'>> = {}): Message {
  return {
    type,
    to: 0,
    from: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

/** The role a node plays in its current term. */
export enum Role {
  Follower = 'follower',
  Candidate = 'candidate',
  PreCandidate = 'pre-candidate',
  Leader = 'leader',
}

/** Volatile state the driver may want to observe (leader changes, role). */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/** A linearizable read that is now safe: serve it once applied >= index (thesis 6.4). */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * What the driver must do next, in this order: persist `hardState`, `entries` and
 * `snapshot` (one synced write when `mustSync`); send `messages` (a leader may send them
 * before its own write completes, thesis 10.2.1; a follower only after); apply
 * `committedEntries`; hand out `readStates` once applied; then call advance().
 */
export interface Ready {
  readonly softState?: SoftState | undefined;
  readonly hardState?: HardState | undefined;
  readonly readStates: readonly ReadState[];
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot | undefined;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  /** Whether the write of this Ready must be synced before messages that depend on it. */
  readonly mustSync: boolean;
}

/** One step of a configuration change. */
export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  AddLearnerNode = 2,
}

/** How a change is carried out: simple (one voter at most) or through a joint configuration. */
export enum ConfChangeTransition {
  /** Simple if possible, else joint and left automatically. */
  Auto = 0,
  /** Joint, left automatically by the leader. */
  JointImplicit = 1,
  /** Joint, left only when the application proposes an empty change. */
  JointExplicit = 2,
}

/** A single add/remove/learner change. */
export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/** A configuration change proposal; an empty `changes` list means "leave the joint configuration". */
export interface ConfChange {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  /** Opaque to raft; the application uses it to carry e.g. a new member's address. */
  readonly context: Uint8Array;
}

/** The empty configuration state. */
export const EMPTY_CONF_STATE: ConfState = Object.freeze({
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});

/** The empty hard state (a node that never ran). */
export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });
