/** Configuration of a raft node, validated once at construction. */
import { CairnError, ErrorCode } from '../common/errors.js';
import { leaseTicksFor } from './read-lease.js';
import type { Storage } from './storage.js';
import type { NodeId } from './types.js';

/** The injected source of randomness: the core draws no randomness of its own (deterministic simulation). */
export interface Prng {
  /** A uniformly distributed integer in [0, n). */
  nextInt(n: number): number;
}

/** Where the core reports what it does; the node passes a pino child, tests a recorder or nothing. */
export interface RaftLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** How a leader confirms it still leads before serving a read (thesis 6.4). */
export enum ReadOnlyOption {
  /** ReadIndex: one heartbeat round confirms leadership (batched across reads). */
  Safe = 'safe',
  /**
   * Lease-based: a leader answers reads while a quorum acknowledged one of its heartbeats
   * within the last electionTimeoutTicks - 3 ticks (see read-lease.ts); requires checkQuorum,
   * a driver whose ticks keep pace with a monotonic clock, and clock rates within about 10%.
   */
  LeaseBased = 'lease-based',
}

/** Everything a RawNode needs. Units are ticks and bytes; the driver decides how long a tick is. */
export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: Storage;
  /** Ticks without hearing from a leader before a follower campaigns; randomized in [n, 2n). */
  readonly electionTimeoutTicks: number;
  /** Ticks between a leader's heartbeats. Invariant: heartbeatIntervalTicks < electionTimeoutTicks. */
  readonly heartbeatIntervalTicks: number;
  readonly prng: Prng;
  /** The last index the application applied before a restart (0 for a new node). */
  readonly appliedIndex?: number;
  /** Upper bound on the bytes of entries in one append message. */
  readonly messageSizeBytesMax?: number;
  /** Upper bound on the bytes of committed entries handed out in one Ready. */
  readonly committedSizeBytesPerReadyMax?: number;
  /** Upper bound on the bytes of proposed but uncommitted entries on a leader; beyond it proposals are refused. */
  readonly uncommittedSizeBytesMax?: number;
  /** Upper bound on append messages in flight to one follower. */
  readonly inflightMessagesMax?: number;
  /** A leader that has not heard from a quorum within an election timeout steps down. */
  readonly checkQuorum?: boolean;
  /** Candidates first ask whether they could win (thesis 9.6), so a rejoining node cannot disrupt. */
  readonly preVote?: boolean;
  readonly readOnlyOption?: ReadOnlyOption;
  /**
   * Lease mode: tick() leaves the lease clock alone and the driver moves it from a monotonic
   * clock (advanceLeaseClock). Without it, each tick() is taken to be one tick of real time.
   */
  readonly leaseClockByDriver?: boolean;
  /** Refuse proposals on followers (with a leader hint) instead of forwarding them. */
  readonly disableProposalForwarding?: boolean;
  readonly logger?: RaftLogger;
  /**
   * Test only: commit entries of earlier terms by counting replicas (the Figure 8 bug), so
   * the simulator can prove its checkers notice.
   */
  readonly testOnlyBrokenCommitRule?: boolean;
}

/** RaftConfig with every default filled in. */
export type ResolvedRaftConfig = Required<Omit<RaftConfig, 'logger'>> & {
  readonly logger: RaftLogger | undefined;
};

/** Defaults chosen for a three- or five-node cluster on a LAN. */
export const RAFT_DEFAULTS = {
  messageSizeBytesMax: 1024 * 1024,
  committedSizeBytesPerReadyMax: 8 * 1024 * 1024,
  uncommittedSizeBytesMax: 64 * 1024 * 1024,
  inflightMessagesMax: 256,
} as const;

/** Fills defaults and refuses a configuration that cannot work. */
export function resolveConfig(c: RaftConfig): ResolvedRaftConfig {
  const invalid = (msg: string) => new CairnError(ErrorCode.INVALID_ARGUMENT, `raft config: ${msg}`);
  if (!Number.isSafeInteger(c.id) || c.id <= 0) throw invalid('id must be a positive integer');
  if (c.heartbeatIntervalTicks <= 0) throw invalid('heartbeatIntervalTicks must be > 0');
  if (c.electionTimeoutTicks <= c.heartbeatIntervalTicks) {
    throw invalid('electionTimeoutTicks must be greater than heartbeatIntervalTicks');
  }
  const r: ResolvedRaftConfig = {
    id: c.id,
    storage: c.storage,
    electionTimeoutTicks: c.electionTimeoutTicks,
    heartbeatIntervalTicks: c.heartbeatIntervalTicks,
    prng: c.prng,
    appliedIndex: c.appliedIndex ?? 0,
    messageSizeBytesMax: c.messageSizeBytesMax ?? RAFT_DEFAULTS.messageSizeBytesMax,
    committedSizeBytesPerReadyMax:
      c.committedSizeBytesPerReadyMax ?? RAFT_DEFAULTS.committedSizeBytesPerReadyMax,
    uncommittedSizeBytesMax: c.uncommittedSizeBytesMax ?? RAFT_DEFAULTS.uncommittedSizeBytesMax,
    inflightMessagesMax: c.inflightMessagesMax ?? RAFT_DEFAULTS.inflightMessagesMax,
    checkQuorum: c.checkQuorum ?? false,
    preVote: c.preVote ?? false,
    readOnlyOption: c.readOnlyOption ?? ReadOnlyOption.Safe,
    leaseClockByDriver: c.leaseClockByDriver ?? false,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    logger: c.logger,
    testOnlyBrokenCommitRule: c.testOnlyBrokenCommitRule ?? false,
  };
  if (r.inflightMessagesMax <= 0) throw invalid('inflightMessagesMax must be > 0');
  if (r.readOnlyOption === ReadOnlyOption.LeaseBased && !r.checkQuorum) {
    throw invalid('lease-based reads require checkQuorum');
  }
  if (r.readOnlyOption === ReadOnlyOption.LeaseBased && leaseTicksFor(r.electionTimeoutTicks) < 1) {
    throw invalid('lease-based reads need an election timeout of at least 4 ticks');
  }
  return r;
}
