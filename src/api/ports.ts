/** What the etcd-compatible handlers need from the running member. */
import type { LazyBytes } from '../common/lazy-bytes.js';
import type { Command, HashKVResult, RangeRequest, RangeResponse } from '../mvcc/index.js';
import type { AlarmMember, AlarmRequest } from '../node/alarms.js';
import type { KvResult } from '../node/kv-state-machine.js';
import type { WireHeader } from './header.js';
import type { StatusSource } from './status-source.js';

/** The key-value operations behind the KV service. */
export interface KvBackend {
  /** The header for a response at the current revision and term. */
  header(): WireHeader;
  /** A range, linearizable unless serializable. */
  range(req: RangeRequest, serializable: boolean): Promise<RangeResponse>;
  /** A write, through raft; resolves with the state machine's result once applied. */
  write(cmd: Command): Promise<KvResult>;
}

/** Leadership as MoveLeader needs it: who leads, who may lead, and the transfer itself. */
export interface LeadershipPort {
  /** This member's id. */
  readonly selfId: number;
  /** How often to look whether leadership has moved, in milliseconds (etcd: one tick). */
  readonly pollIntervalMs: number;
  /** The leader this member knows of, or 0. */
  leader(): number;
  /** Whether the member is a voter of the current configuration (learners may not lead). */
  isVoter(id: number): boolean;
  /** Starts handing leadership to `to` (returns at once; raft does the rest). */
  transferLeadership(to: number): void;
  /** Whether a transfer is under way (raft abandons one that took longer than an election timeout). */
  transferring(): boolean;
}

/** What the Maintenance service needs from the running member. */
export interface MaintenanceBackend {
  /** The header for a response at the current revision and term. */
  header(): WireHeader;
  /** The node's live state for Status. */
  status(): StatusSource;
  /** The active alarms as this member has applied them (for Status). */
  activeAlarms(): readonly AlarmMember[];
  /** An alarm request, through raft; resolves with the alarms it concerned once applied. */
  alarm(req: AlarmRequest): Promise<readonly AlarmMember[]>;
  /** Rewrites this member's data to its live minimum (fresh snapshot, log compaction, LevelDB compaction). */
  defragment(): Promise<void>;
  /** CRC-32 of the whole state machine. */
  hash(): number;
  /** mvcc's hash up to a revision (0: current); throws COMPACTED or FUTURE_REVISION. */
  hashKV(revision: number): HashKVResult;
  /** The bytes Snapshot streams before their digest: the state machine's snapshot in its file layout (snapshot-file.ts). */
  snapshot(): LazyBytes;
  /** The longest a wait (MoveLeader) may take when the call has no earlier deadline. */
  readonly requestTimeoutMs: number;
  readonly leadership: LeadershipPort;
}
