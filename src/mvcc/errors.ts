/**
 * The errors the state machine answers with. Each is a CairnError whose code is stable and
 * whose message is etcd's exact error string for the same condition (the text etcd clients
 * match on), so api/ can send err.message as the gRPC status message unchanged; its table
 * maps only the code to a gRPC status (ETCD_GRPC_STATUS below says which one etcd uses).
 */
import { CairnError, ErrorCode } from '../common/errors.js';

/** etcd's error string for each code the state machine produces. */
export const ETCD_ERROR_MESSAGES = {
  [ErrorCode.COMPACTED]: 'etcdserver: mvcc: required revision has been compacted',
  [ErrorCode.FUTURE_REVISION]: 'etcdserver: mvcc: required revision is a future revision',
  [ErrorCode.TOO_MANY_OPS]: 'etcdserver: too many operations in txn request',
  [ErrorCode.DUPLICATE_KEY]: 'etcdserver: duplicate key given in txn request',
  [ErrorCode.KEY_NOT_FOUND]: 'etcdserver: key not found',
  [ErrorCode.EMPTY_KEY]: 'etcdserver: key is not provided',
  [ErrorCode.VALUE_PROVIDED]: 'etcdserver: value is provided',
  [ErrorCode.LEASE_PROVIDED]: 'etcdserver: lease is provided',
  [ErrorCode.LEASE_NOT_FOUND]: 'etcdserver: requested lease not found',
  [ErrorCode.LEASE_EXISTS]: 'etcdserver: lease already exists',
  [ErrorCode.LEASE_TTL_TOO_LARGE]: 'etcdserver: too large lease TTL',
} as const;

/** A code the state machine answers with. */
export type MvccErrorCode = keyof typeof ETCD_ERROR_MESSAGES;

/** The gRPC status name etcd sends with each of these errors, for api/'s table. */
export const ETCD_GRPC_STATUS: Readonly<
  Record<MvccErrorCode, 'OUT_OF_RANGE' | 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION'>
> = {
  [ErrorCode.COMPACTED]: 'OUT_OF_RANGE',
  [ErrorCode.FUTURE_REVISION]: 'OUT_OF_RANGE',
  [ErrorCode.TOO_MANY_OPS]: 'INVALID_ARGUMENT',
  [ErrorCode.DUPLICATE_KEY]: 'INVALID_ARGUMENT',
  [ErrorCode.KEY_NOT_FOUND]: 'INVALID_ARGUMENT',
  [ErrorCode.EMPTY_KEY]: 'INVALID_ARGUMENT',
  [ErrorCode.VALUE_PROVIDED]: 'INVALID_ARGUMENT',
  [ErrorCode.LEASE_PROVIDED]: 'INVALID_ARGUMENT',
  [ErrorCode.LEASE_NOT_FOUND]: 'NOT_FOUND',
  [ErrorCode.LEASE_EXISTS]: 'FAILED_PRECONDITION',
  [ErrorCode.LEASE_TTL_TOO_LARGE]: 'OUT_OF_RANGE',
};

/** Builds the error for code with etcd's message. */
export function mvccError(code: MvccErrorCode): CairnError {
  return new CairnError(code, ETCD_ERROR_MESSAGES[code]);
}
