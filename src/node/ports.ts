/**
 * What the node runtime needs from the pieces it drives: durable storage for the raft log
 * and the state machine's changes, the replicated state machine itself, and a transport.
 * main.ts wires the LevelDB storage, the mvcc store and the gRPC transport to these; tests
 * may wire in-memory twins.
 */
import type { LazyBytes } from '../common/lazy-bytes.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  MemoryStorage,
  Message,
  NodeId,
  Snapshot,
} from '../raft/index.js';
import type { Envelope } from './envelope.js';

/** Changes the state machine made since the last persist, opaque to the node. */
export type StateMachineWrites = unknown;

/** One synced write: everything a Ready must persist, plus applied state-machine changes. */
export interface PersistBatch {
  readonly hardState?: HardState | undefined;
  readonly entries: readonly Entry[];
  /**
   * A snapshot received from the leader: replaces the log. Only its metadata is kept: the
   * state machine's data arrives as `stateMachineWrites` (replacing what it had).
   */
  readonly snapshot?: Pick<Snapshot, 'metadata'> | undefined;
  /** State-machine changes to write atomically with `appliedIndex`. */
  readonly stateMachineWrites?: StateMachineWrites;
  readonly appliedIndex: number;
  /**
   * Whether the write must be synced (default true). A batch of state-machine changes alone
   * need not be: the log it was applied from is durable and a restart replays it.
   */
  readonly sync?: boolean;
}

/** Durable storage of the raft log, hard state, snapshots and state machine data. */
export interface NodeStorage {
  /** The in-memory view of the stable log that the raft core reads. */
  readonly raftStorage: MemoryStorage;
  /**
   * Updates raftStorage at once (before returning), then writes the batch (synced unless
   * told otherwise); the returned promises resolve in the order the calls were made, each
   * once its batch and every earlier one are on disk.
   */
  persist(batch: PersistBatch): Promise<void>;
  /**
   * Records that the log may start after index (a snapshot taken locally: the state machine's
   * data at index is already on disk as its own keys) and compacts the log up to compactIndex.
   */
  saveSnapshot(index: number, confState: ConfState, compactIndex: number): Promise<void>;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/** Where an applied entry sits in the log. */
export interface ApplyPosition {
  readonly index: number;
  readonly term: number;
}

/** The replicated state machine the node applies committed entries to. */
export interface StateMachine<Result> {
  /** The last index whose effects are in the state machine (loaded from disk at start-up). */
  readonly appliedIndex: number;
  /** Applies one normal entry; deterministic. Returns the result for the proposer. */
  apply(pos: ApplyPosition, envelope: Envelope): Result;
  /** Records that an entry without state-machine effect (no-op, conf change) was applied. */
  skip(pos: ApplyPosition): void;
  /**
   * Applies a configuration change that raft has applied (the membership registry follows
   * it); `context` is the change's context when it is an envelope. Without this method a
   * conf change is skipped. The result goes to the proposer named in the context.
   */
  applyConfChange?(pos: ApplyPosition, cc: ConfChange, context: Envelope | undefined): Result;
  /** Takes the changes made since the last call (undefined if none), to be persisted with the applied index. */
  takeWrites(): StateMachineWrites | undefined;
  /** The whole state as of now (a raft snapshot's data), made into bytes as they are read. */
  snapshot(): LazyBytes;
  /** Replaces the whole state with a snapshot's data. */
  restore(index: number, data: Uint8Array): void;
}

/** Delivery of raft messages to peers; never blocks, never throws for network reasons. */
export interface PeerTransport {
  send(messages: readonly Message[]): void;
  /** Sends a Snap message whose data (m.snapshot.data is empty) is made as it is sent. */
  sendSnapshot(m: Message, data: LazyBytes): void;
  addPeer(id: NodeId, url: string): void;
  removePeer(id: NodeId): void;
  stop(): Promise<void>;
}
