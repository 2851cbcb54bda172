/**
 * Errors that cross a boundary: each has a stable code, a retriable flag and, where
 * known, a leader hint. api/ maps codes to gRPC status and etcd's strings; client/ holds
 * the inverse. Add codes here, never ad-hoc strings elsewhere.
 */

/** Every stable error code Cairn uses. */
export const ErrorCode = {
  /** The proposal was dropped by raft (no leader, transfer in progress, forwarding disabled). */
  PROPOSAL_DROPPED: 'PROPOSAL_DROPPED',
  /** This node is not the leader and cannot forward. */
  NOT_LEADER: 'NOT_LEADER',
  /** No leader is known at the moment. */
  NO_LEADER: 'NO_LEADER',
  /** Too much is already queued: uncommitted bytes, pending proposals, in-flight reads. */
  OVERLOADED: 'OVERLOADED',
  /** A request or entry is larger than the configured maximum. */
  TOO_LARGE: 'TOO_LARGE',
  /** A configuration change was refused (one already in flight, or invalid). */
  CONF_CHANGE_REJECTED: 'CONF_CHANGE_REJECTED',
  /** A leadership transfer was refused (unknown target, learner, already transferring). */
  TRANSFER_REJECTED: 'TRANSFER_REJECTED',
  /** Log entries below the first index, or mvcc revisions below the compaction point, were compacted away. */
  COMPACTED: 'COMPACTED',
  /** A read, hash or compaction asked for an mvcc revision the store has not reached. */
  FUTURE_REVISION: 'FUTURE_REVISION',
  /** A Txn has more operations in one list than the configured maximum. */
  TOO_MANY_OPS: 'TOO_MANY_OPS',
  /** A Txn writes the same key twice (a put twice, or a put inside a delete's range). */
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** A request needs an existing key (ignore_value, ignore_lease) and there is none; or an empty Txn op. */
  KEY_NOT_FOUND: 'KEY_NOT_FOUND',
  /** A request has an empty key. */
  EMPTY_KEY: 'EMPTY_KEY',
  /** A put sets ignore_value and carries a value too. */
  VALUE_PROVIDED: 'VALUE_PROVIDED',
  /** A put sets ignore_lease and carries a lease too. */
  LEASE_PROVIDED: 'LEASE_PROVIDED',
  /** A request names a lease that does not exist. */
  LEASE_NOT_FOUND: 'LEASE_NOT_FOUND',
  /** A grant names a lease id that already exists. */
  LEASE_EXISTS: 'LEASE_EXISTS',
  /** A grant asks for a TTL above the largest one (9,000,000,000 s, as etcd). */
  LEASE_TTL_TOO_LARGE: 'LEASE_TTL_TOO_LARGE',
  /** Log entries above the last index are not (yet) present. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A snapshot is being prepared; try again. */
  SNAPSHOT_TEMPORARILY_UNAVAILABLE: 'SNAPSHOT_TEMPORARILY_UNAVAILABLE',
  /** The request is malformed. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A wait ran out before the outcome was known. */
  TIMEOUT: 'TIMEOUT',
  /** The leader a proposal went to lost its place before the proposal was applied here: its outcome is unknown. */
  TIMEOUT_DUE_TO_LEADER_FAIL: 'TIMEOUT_DUE_TO_LEADER_FAIL',
  /** The node is shutting down. */
  STOPPED: 'STOPPED',
  /** Data on disk failed a check. */
  CORRUPT: 'CORRUPT',
  /** The data folder cannot be opened (LevelDB refuses it: damaged, truncated or missing files). */
  DATA_DIR_UNREADABLE: 'DATA_DIR_UNREADABLE',
  /** The raft node broke an invariant while running (typically: a leader commits past a log this member lost); the member stops. */
  NODE_FAILED: 'NODE_FAILED',
  /** A membership request names a member the cluster does not have. */
  MEMBER_NOT_FOUND: 'MEMBER_NOT_FOUND',
  /** A member with this id is already in the cluster. */
  MEMBER_EXISTS: 'MEMBER_EXISTS',
  /** Another member already has one of these peer URLs. */
  PEER_URL_EXISTS: 'PEER_URL_EXISTS',
  /** Peer URLs that are missing or not http(s)://host:port. */
  MEMBER_BAD_URLS: 'MEMBER_BAD_URLS',
  /** Only a learner can be promoted. */
  MEMBER_NOT_LEARNER: 'MEMBER_NOT_LEARNER',
  /** The learner's log is too far behind the leader's to be promoted. */
  LEARNER_NOT_READY: 'LEARNER_NOT_READY',
  /** The cluster already has as many learners as allowed. */
  TOO_MANY_LEARNERS: 'TOO_MANY_LEARNERS',
  /** This member was removed from the cluster: it stops, and its peers refuse it. */
  MEMBER_REMOVED: 'MEMBER_REMOVED',
  /** The caller gave up (cancelled its call) before the operation finished. */
  CANCELLED: 'CANCELLED',
  /** A lock waiter's key vanished while it waited (its lease expired or was revoked). */
  LOCK_SESSION_EXPIRED: 'LOCK_SESSION_EXPIRED',
  /** A LockService Acquire waited in line longer than its wait timeout (its key was taken out of the line). */
  LOCK_WAIT_TIMEOUT: 'LOCK_WAIT_TIMEOUT',
  /** Proclaim (or a campaign) by a caller whose key no longer leads the election. */
  ELECTION_NOT_LEADER: 'ELECTION_NOT_LEADER',
  /** Leader asked of an election nobody holds. */
  ELECTION_NO_LEADER: 'ELECTION_NO_LEADER',
  /** An election request lacks its "leader" field. */
  ELECTION_MISSING_LEADER_KEY: 'ELECTION_MISSING_LEADER_KEY',
  /** The space quota is exhausted (a NOSPACE alarm is active, or this write would pass the quota). */
  NO_SPACE: 'NO_SPACE',
  /** A leadership transfer names a member that is not a voter of the cluster. */
  BAD_LEADER_TRANSFEREE: 'BAD_LEADER_TRANSFEREE',
  /** A request only the leader serves reached a follower (MoveLeader). */
  NOT_LEADER_FOR_REQUEST: 'NOT_LEADER_FOR_REQUEST',
  /** A leadership transfer did not finish in time. */
  LEADER_TRANSFER_TIMEOUT: 'LEADER_TRANSFER_TIMEOUT',
  /** A coordinator call names a transaction that has no record (never begun, or removed after retention). */
  TXN_NOT_FOUND: 'TXN_NOT_FOUND',
  /** Begin retried with another participant set than the record's. */
  TXN_PARTICIPANTS_MISMATCH: 'TXN_PARTICIPANTS_MISMATCH',
  /** A Vote or Ack from someone who is not a participant of the transaction. */
  TXN_NOT_PARTICIPANT: 'TXN_NOT_PARTICIPANT',
  /** A participant tried to change the vote it already recorded. */
  TXN_VOTE_CHANGED: 'TXN_VOTE_CHANGED',
  /** Abort of a transaction already decided COMMIT (a decision never changes). */
  TXN_ALREADY_DECIDED: 'TXN_ALREADY_DECIDED',
  /** Ack of a transaction that is not decided yet. */
  TXN_NOT_DECIDED: 'TXN_NOT_DECIDED',
  /** A record changed under every compare-and-swap attempt; nothing was written, try again. */
  TXN_CONTENDED: 'TXN_CONTENDED',
  /** A MembershipService call names an instance that is not registered. */
  INSTANCE_NOT_FOUND: 'INSTANCE_NOT_FOUND',
  /** An instance's record kept changing under a read-modify-write; nothing was written. */
  MEMBERSHIP_CONFLICT: 'MEMBERSHIP_CONFLICT',
  /** A membership subscription resumes from a compacted revision: it must start again with a snapshot. */
  SUBSCRIPTION_COMPACTED: 'SUBSCRIPTION_COMPACTED',
  /** A membership subscriber read too slowly and its stream was cut off. */
  SUBSCRIBER_TOO_SLOW: 'SUBSCRIBER_TOO_SLOW',
  /** Authenticate with a wrong user name or password (the answer never tells which). */
  AUTH_FAILED: 'AUTH_FAILED',
  /** The caller lacks the permission the request needs (a key range, or the root role). */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** The request's auth token is unknown or expired; authenticate again. */
  INVALID_AUTH_TOKEN: 'INVALID_AUTH_TOKEN',
  /** Auth is enabled and the request names no user (no token, no client certificate). */
  USER_EMPTY: 'USER_EMPTY',
  /** A user-management request names a user that does not exist. */
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  /** UserAdd of a user name that exists. */
  USER_ALREADY_EXISTS: 'USER_ALREADY_EXISTS',
  /** A role-management request names a role that does not exist. */
  ROLE_NOT_FOUND: 'ROLE_NOT_FOUND',
  /** RoleAdd of a role name that exists. */
  ROLE_ALREADY_EXISTS: 'ROLE_ALREADY_EXISTS',
  /** A role request with an empty role name. */
  ROLE_EMPTY: 'ROLE_EMPTY',
  /** UserRevokeRole of a role the user does not have. */
  ROLE_NOT_GRANTED: 'ROLE_NOT_GRANTED',
  /** RoleRevokePermission of a key range the role has no permission on. */
  PERMISSION_NOT_GRANTED: 'PERMISSION_NOT_GRANTED',
  /** AuthEnable without a user named root. */
  ROOT_USER_NOT_EXIST: 'ROOT_USER_NOT_EXIST',
  /** AuthEnable while the root user lacks the root role. */
  ROOT_ROLE_NOT_EXIST: 'ROOT_ROLE_NOT_EXIST',
  /** Authenticate while auth is disabled. */
  AUTH_NOT_ENABLED: 'AUTH_NOT_ENABLED',
  /** An auth change that would lock everyone out (revoking root's root role, deleting the root role while enabled). */
  INVALID_AUTH_MGMT: 'INVALID_AUTH_MGMT',
  /** Too many failed Authenticate calls for this user name or peer address; wait before trying again. */
  AUTH_RATE_LIMITED: 'AUTH_RATE_LIMITED',
  /** Client side: no connection to the endpoint could be made, so the request was never sent. */
  CONNECTION_FAILED: 'CONNECTION_FAILED',
  /** Client side: the connection broke after the request was sent; whether it took effect is unknown. */
  CONNECTION_LOST: 'CONNECTION_LOST',
  /** Client side: the server answered with an error that has no stable code (a bug or a proxy in between). */
  INTERNAL: 'INTERNAL',
} as const;

/** A stable error code. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes whose operation certainly did not happen and may be retried as is. */
const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.PROPOSAL_DROPPED,
  ErrorCode.NOT_LEADER,
  ErrorCode.NO_LEADER,
  ErrorCode.OVERLOADED,
  ErrorCode.SNAPSHOT_TEMPORARILY_UNAVAILABLE,
  ErrorCode.TXN_CONTENDED,
  ErrorCode.MEMBERSHIP_CONFLICT,
  ErrorCode.CONNECTION_FAILED,
]);

/** The one error type that crosses boundaries: code, retriable flag, optional leader hint. */
export class CairnError extends Error {
  override readonly name = 'CairnError';
  readonly retriable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly leaderHint?: number,
  ) {
    super(message);
    this.retriable = RETRIABLE.has(code);
  }
}

/** Whether a value is a CairnError with the given code. */
export function isCairnError(err: unknown, code?: ErrorCode): err is CairnError {
  return err instanceof CairnError && (code === undefined || err.code === code);
}
