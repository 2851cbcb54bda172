/**
 * The one table that maps Cairn's stable error codes to the gRPC status and the exact
 * error string etcd sends, so etcd clients recognise every error (client/ holds the
 * inverse). An error without an entry is an internal error and says so.
 */
import * as grpc from '@grpc/grpc-js';
import { type CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import { ETCD_ERROR_MESSAGES, ETCD_GRPC_STATUS } from '../mvcc/index.js';

type GrpcError = Error & { code: grpc.status; details: string };

const STATUS_BY_NAME: Record<string, grpc.status> = {
  OUT_OF_RANGE: grpc.status.OUT_OF_RANGE,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
};

/** Codes outside mvcc, with etcd's strings (etcd's rpctypes). */
const SERVER_ERRORS: Partial<Record<ErrorCode, { status: grpc.status; message: string }>> = {
  [ErrorCode.NO_LEADER]: { status: grpc.status.UNAVAILABLE, message: 'etcdserver: no leader' },
  [ErrorCode.NOT_LEADER]: { status: grpc.status.UNAVAILABLE, message: 'etcdserver: not leader' },
  [ErrorCode.PROPOSAL_DROPPED]: { status: grpc.status.UNAVAILABLE, message: 'etcdserver: no leader' },
  [ErrorCode.TIMEOUT]: { status: grpc.status.UNAVAILABLE, message: 'etcdserver: request timed out' },
  [ErrorCode.OVERLOADED]: {
    status: grpc.status.RESOURCE_EXHAUSTED,
    message: 'etcdserver: too many requests',
  },
  [ErrorCode.TOO_LARGE]: {
    status: grpc.status.INVALID_ARGUMENT,
    message: 'etcdserver: request is too large',
  },
  [ErrorCode.STOPPED]: { status: grpc.status.UNAVAILABLE, message: 'etcdserver: server stopped' },
  [ErrorCode.MEMBER_REMOVED]: { status: grpc.status.UNAVAILABLE, message: 'etcdserver: server stopped' },
  [ErrorCode.MEMBER_NOT_FOUND]: { status: grpc.status.NOT_FOUND, message: 'etcdserver: member not found' },
  [ErrorCode.MEMBER_EXISTS]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'etcdserver: member ID already exist',
  },
  [ErrorCode.PEER_URL_EXISTS]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'etcdserver: Peer URLs already exists',
  },
  [ErrorCode.MEMBER_BAD_URLS]: {
    status: grpc.status.INVALID_ARGUMENT,
    message: 'etcdserver: given member URLs are invalid',
  },
  [ErrorCode.MEMBER_NOT_LEARNER]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member',
  },
  [ErrorCode.LEARNER_NOT_READY]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  [ErrorCode.TOO_MANY_LEARNERS]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'etcdserver: too many learner members in cluster',
  },
  [ErrorCode.CANCELLED]: { status: grpc.status.CANCELLED, message: 'etcdserver: request canceled' },
  // etcd's lock and election servers return the concurrency package's plain Go errors, which
  // grpc-go sends with status Unknown and the error's text.
  [ErrorCode.LOCK_SESSION_EXPIRED]: { status: grpc.status.UNKNOWN, message: 'mutex: session is expired' },
  // Cairn's own LockService (no etcd counterpart).
  [ErrorCode.LOCK_WAIT_TIMEOUT]: {
    status: grpc.status.DEADLINE_EXCEEDED,
    message: 'cairn: lock wait timed out',
  },
  [ErrorCode.ELECTION_NOT_LEADER]: { status: grpc.status.UNKNOWN, message: 'election: not leader' },
  [ErrorCode.ELECTION_NO_LEADER]: { status: grpc.status.UNKNOWN, message: 'election: no leader' },
  [ErrorCode.ELECTION_MISSING_LEADER_KEY]: {
    status: grpc.status.UNKNOWN,
    message: '"leader" field must be provided',
  },
  [ErrorCode.NO_SPACE]: {
    status: grpc.status.RESOURCE_EXHAUSTED,
    message: 'etcdserver: mvcc: database space exceeded',
  },
  [ErrorCode.NOT_LEADER_FOR_REQUEST]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'etcdserver: not leader',
  },
  [ErrorCode.BAD_LEADER_TRANSFEREE]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'etcdserver: bad leader transferee',
  },
  // etcd has no gRPC mapping for this one and sends it with status Unknown.
  [ErrorCode.LEADER_TRANSFER_TIMEOUT]: {
    status: grpc.status.UNKNOWN,
    message: 'etcdserver: request timed out, leader transfer took too long',
  },
  // Cairn's own coordinator (not etcd's): its own strings.
  [ErrorCode.TXN_NOT_FOUND]: { status: grpc.status.NOT_FOUND, message: 'cairn: transaction not found' },
  [ErrorCode.TXN_PARTICIPANTS_MISMATCH]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'cairn: transaction already begun with other participants',
  },
  [ErrorCode.TXN_NOT_PARTICIPANT]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'cairn: not a participant of the transaction',
  },
  [ErrorCode.TXN_VOTE_CHANGED]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'cairn: participant already voted otherwise',
  },
  [ErrorCode.TXN_ALREADY_DECIDED]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'cairn: transaction already committed',
  },
  [ErrorCode.TXN_NOT_DECIDED]: {
    status: grpc.status.FAILED_PRECONDITION,
    message: 'cairn: transaction not decided yet',
  },
  [ErrorCode.TXN_CONTENDED]: { status: grpc.status.ABORTED, message: 'cairn: transaction record contended' },
  // Cairn's MembershipService (no etcd counterpart).
  [ErrorCode.INSTANCE_NOT_FOUND]: {
    status: grpc.status.NOT_FOUND,
    message: 'membership: instance not found',
  },
  [ErrorCode.MEMBERSHIP_CONFLICT]: {
    status: grpc.status.ABORTED,
    message: 'membership: the instance changed concurrently too many times; retry',
  },
  [ErrorCode.SUBSCRIPTION_COMPACTED]: {
    status: grpc.status.OUT_OF_RANGE,
    message:
      'membership: from_revision has been compacted; subscribe again with from_revision 0 for a fresh snapshot',
  },
  [ErrorCode.SUBSCRIBER_TOO_SLOW]: {
    status: grpc.status.RESOURCE_EXHAUSTED,
    message:
      'membership: subscriber too slow, stream cut off; resubscribe with from_revision = last revision seen + 1',
  },
};

function grpcError(status: grpc.status, message: string): GrpcError {
  return Object.assign(new Error(message), { code: status, details: message });
}

/** The gRPC error etcd would send for this error. */
export function toGrpcError(err: unknown): GrpcError {
  if (isCairnError(err)) {
    const e = err as CairnError;
    if (e.code in ETCD_ERROR_MESSAGES) {
      const code = e.code as keyof typeof ETCD_ERROR_MESSAGES;
      return grpcError(
        STATUS_BY_NAME[ETCD_GRPC_STATUS[code]] ?? grpc.status.INVALID_ARGUMENT,
        ETCD_ERROR_MESSAGES[code],
      );
    }
    const mapped = SERVER_ERRORS[e.code];
    if (mapped) return grpcError(mapped.status, mapped.message);
    if (e.code === ErrorCode.INVALID_ARGUMENT) return grpcError(grpc.status.INVALID_ARGUMENT, e.message);
  }
  return grpcError(
    grpc.status.INTERNAL,
    `etcdserver: internal error: ${(err as Error)?.message ?? String(err)}`,
  );
}
