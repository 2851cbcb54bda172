/**
 * The errors the state machine answers with. Each is a CairnError whose code is stable and
 * whose message is etcd's exact error string for the same condition (the text etcd clients
 * match on), taken from the one wire table in common/wire-errors.ts.
 */
import { CairnError } from '../common/errors.js';
import { ETCD_MVCC_ERRORS } from '../common/wire-errors.js';

/** A code the state machine answers with. */
export type MvccErrorCode = keyof typeof ETCD_MVCC_ERRORS;

/** Builds the error for code with etcd's message. */
export function mvccError(code: MvccErrorCode): CairnError {
  return new CairnError(code, ETCD_MVCC_ERRORS[code].message);
}
