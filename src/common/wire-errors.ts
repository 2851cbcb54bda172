/**
 * The one table of errors on the wire: for every stable error code, the gRPC status and the
 * exact message etcd sends for the same condition (Cairn's own services use their own
 * strings). api/ sends from it; client/ reads it backwards to recover the code from what
 * arrives. Messages are facts of etcd's wire protocol (its rpctypes and mvcc errors).
 */
import { status as Status } from '@grpc/grpc-js';
import { ErrorCode } from './errors.js';

/** How one error code travels: gRPC status and message. */
export interface WireError {
  readonly status: Status;
  readonly message: string;
}

/** etcd's error strings for the conditions the state machine (mvcc) reports. */
export const ETCD_MVCC_ERRORS = {
  [ErrorCode.COMPACTED]: {
    status: Status.OUT_OF_RANGE,
    message: 'etcdserver: mvcc: required revision has been compacted',
  },
  [ErrorCode.FUTURE_REVISION]: {
    status: Status.OUT_OF_RANGE,
    message: 'etcdserver: mvcc: required revision is a future revision',
  },
  [ErrorCode.TOO_MANY_OPS]: {
    status: Status.INVALID_ARGUMENT,
    message: 'etcdserver: too many operations in txn request',
  },
  [ErrorCode.DUPLICATE_KEY]: {
    status: Status.INVALID_ARGUMENT,
    message: 'etcdserver: duplicate key given in txn request',
  },
  [ErrorCode.KEY_NOT_FOUND]: { status: Status.INVALID_ARGUMENT, message: 'etcdserver: key not found' },
  [ErrorCode.EMPTY_KEY]: { status: Status.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' },
  [ErrorCode.VALUE_PROVIDED]: { status: Status.INVALID_ARGUMENT, message: 'etcdserver: value is provided' },
  [ErrorCode.LEASE_PROVIDED]: { status: Status.INVALID_ARGUMENT, message: 'etcdserver: lease is provided' },
  [ErrorCode.LEASE_NOT_FOUND]: { status: Status.NOT_FOUND, message: 'etcdserver: requested lease not found' },
  [ErrorCode.LEASE_EXISTS]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: lease already exists',
  },
  [ErrorCode.LEASE_TTL_TOO_LARGE]: {
    status: Status.OUT_OF_RANGE,
    message: 'etcdserver: too large lease TTL',
  },
} as const satisfies Partial<Record<ErrorCode, WireError>>;

/**
 * Every code with a fixed wire form. The first code listed for a (status, message) pair is
 * the one a client recovers when two codes share it (PROPOSAL_DROPPED travels as NO_LEADER).
 */
export const WIRE_ERRORS: Readonly<Partial<Record<ErrorCode, WireError>>> = {
  ...ETCD_MVCC_ERRORS,

  [ErrorCode.NO_LEADER]: { status: Status.UNAVAILABLE, message: 'etcdserver: no leader' },
  [ErrorCode.NOT_LEADER]: { status: Status.UNAVAILABLE, message: 'etcdserver: not leader' },
  [ErrorCode.PROPOSAL_DROPPED]: { status: Status.UNAVAILABLE, message: 'etcdserver: no leader' },
  [ErrorCode.TIMEOUT]: { status: Status.UNAVAILABLE, message: 'etcdserver: request timed out' },
  [ErrorCode.TIMEOUT_DUE_TO_LEADER_FAIL]: {
    status: Status.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to previous leader failure',
  },
  [ErrorCode.OVERLOADED]: {
    status: Status.RESOURCE_EXHAUSTED,
    message: 'etcdserver: too many requests',
  },
  [ErrorCode.TOO_LARGE]: {
    status: Status.INVALID_ARGUMENT,
    message: 'etcdserver: request is too large',
  },
  [ErrorCode.STOPPED]: { status: Status.UNAVAILABLE, message: 'etcdserver: server stopped' },
  [ErrorCode.MEMBER_REMOVED]: { status: Status.UNAVAILABLE, message: 'etcdserver: server stopped' },
  [ErrorCode.MEMBER_NOT_FOUND]: { status: Status.NOT_FOUND, message: 'etcdserver: member not found' },
  [ErrorCode.MEMBER_EXISTS]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: member ID already exist',
  },
  [ErrorCode.PEER_URL_EXISTS]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: Peer URLs already exists',
  },
  [ErrorCode.MEMBER_BAD_URLS]: {
    status: Status.INVALID_ARGUMENT,
    message: 'etcdserver: given member URLs are invalid',
  },
  [ErrorCode.MEMBER_NOT_LEARNER]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member',
  },
  [ErrorCode.LEARNER_NOT_READY]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  [ErrorCode.TOO_MANY_LEARNERS]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: too many learner members in cluster',
  },
  [ErrorCode.CANCELLED]: { status: Status.CANCELLED, message: 'etcdserver: request canceled' },
  // etcd's lock and election servers return the concurrency package's plain Go errors, which
  // grpc-go sends with status Unknown and the error's text.
  [ErrorCode.LOCK_SESSION_EXPIRED]: { status: Status.UNKNOWN, message: 'mutex: session is expired' },
  // Cairn's own LockService (no etcd counterpart).
  [ErrorCode.LOCK_WAIT_TIMEOUT]: {
    status: Status.DEADLINE_EXCEEDED,
    message: 'cairn: lock wait timed out',
  },
  [ErrorCode.ELECTION_NOT_LEADER]: { status: Status.UNKNOWN, message: 'election: not leader' },
  [ErrorCode.ELECTION_NO_LEADER]: { status: Status.UNKNOWN, message: 'election: no leader' },
  [ErrorCode.ELECTION_MISSING_LEADER_KEY]: {
    status: Status.UNKNOWN,
    message: '"leader" field must be provided',
  },
  [ErrorCode.NO_SPACE]: {
    status: Status.RESOURCE_EXHAUSTED,
    message: 'etcdserver: mvcc: database space exceeded',
  },
  [ErrorCode.NOT_LEADER_FOR_REQUEST]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: not leader',
  },
  [ErrorCode.BAD_LEADER_TRANSFEREE]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: bad leader transferee',
  },
  // etcd has no gRPC mapping for this one and sends it with status Unknown.
  [ErrorCode.LEADER_TRANSFER_TIMEOUT]: {
    status: Status.UNKNOWN,
    message: 'etcdserver: request timed out, leader transfer took too long',
  },
  // Cairn's own coordinator (not etcd's): its own strings.
  [ErrorCode.TXN_NOT_FOUND]: { status: Status.NOT_FOUND, message: 'cairn: transaction not found' },
  [ErrorCode.TXN_PARTICIPANTS_MISMATCH]: {
    status: Status.FAILED_PRECONDITION,
    message: 'cairn: transaction already begun with other participants',
  },
  [ErrorCode.TXN_NOT_PARTICIPANT]: {
    status: Status.FAILED_PRECONDITION,
    message: 'cairn: not a participant of the transaction',
  },
  [ErrorCode.TXN_VOTE_CHANGED]: {
    status: Status.FAILED_PRECONDITION,
    message: 'cairn: participant already voted otherwise',
  },
  [ErrorCode.TXN_ALREADY_DECIDED]: {
    status: Status.FAILED_PRECONDITION,
    message: 'cairn: transaction already committed',
  },
  [ErrorCode.TXN_NOT_DECIDED]: {
    status: Status.FAILED_PRECONDITION,
    message: 'cairn: transaction not decided yet',
  },
  [ErrorCode.TXN_CONTENDED]: { status: Status.ABORTED, message: 'cairn: transaction record contended' },
  // Cairn's MembershipService (no etcd counterpart).
  [ErrorCode.INSTANCE_NOT_FOUND]: {
    status: Status.NOT_FOUND,
    message: 'membership: instance not found',
  },
  [ErrorCode.MEMBERSHIP_CONFLICT]: {
    status: Status.ABORTED,
    message: 'membership: the instance changed concurrently too many times; retry',
  },
  [ErrorCode.SUBSCRIPTION_COMPACTED]: {
    status: Status.OUT_OF_RANGE,
    message:
      'membership: from_revision has been compacted; subscribe again with from_revision 0 for a fresh snapshot',
  },
  [ErrorCode.SUBSCRIBER_TOO_SLOW]: {
    status: Status.RESOURCE_EXHAUSTED,
    message:
      'membership: subscriber too slow, stream cut off; resubscribe with from_revision = last revision seen + 1',
  },
  // Auth (etcd's rpctypes).
  [ErrorCode.AUTH_FAILED]: {
    status: Status.INVALID_ARGUMENT,
    message: 'etcdserver: authentication failed, invalid user ID or password',
  },
  [ErrorCode.PERMISSION_DENIED]: {
    status: Status.PERMISSION_DENIED,
    message: 'etcdserver: permission denied',
  },
  [ErrorCode.INVALID_AUTH_TOKEN]: {
    status: Status.UNAUTHENTICATED,
    message: 'etcdserver: invalid auth token',
  },
  [ErrorCode.USER_EMPTY]: { status: Status.INVALID_ARGUMENT, message: 'etcdserver: user name is empty' },
  [ErrorCode.USER_NOT_FOUND]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: user name not found',
  },
  [ErrorCode.USER_ALREADY_EXISTS]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: user name already exists',
  },
  [ErrorCode.ROLE_NOT_FOUND]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: role name not found',
  },
  [ErrorCode.ROLE_ALREADY_EXISTS]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: role name already exists',
  },
  [ErrorCode.ROLE_EMPTY]: { status: Status.INVALID_ARGUMENT, message: 'etcdserver: role name is empty' },
  [ErrorCode.ROLE_NOT_GRANTED]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: role is not granted to the user',
  },
  [ErrorCode.PERMISSION_NOT_GRANTED]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: permission is not granted to the role',
  },
  [ErrorCode.ROOT_USER_NOT_EXIST]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: root user does not exist',
  },
  [ErrorCode.ROOT_ROLE_NOT_EXIST]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: root user does not have root role',
  },
  [ErrorCode.AUTH_NOT_ENABLED]: {
    status: Status.FAILED_PRECONDITION,
    message: 'etcdserver: authentication is not enabled',
  },
  [ErrorCode.INVALID_AUTH_MGMT]: {
    status: Status.INVALID_ARGUMENT,
    message: 'etcdserver: invalid auth management',
  },
  // Cairn's own: failed authentications are rate-limited; sent as etcd's "too many requests"
  // (listed after OVERLOADED, so a client reading the table recovers OVERLOADED).
  [ErrorCode.AUTH_RATE_LIMITED]: {
    status: Status.RESOURCE_EXHAUSTED,
    message: 'etcdserver: too many requests',
  },
};
