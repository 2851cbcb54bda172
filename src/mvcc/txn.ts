/**
 * Txn with etcd's semantics, in three passes over the request:
 *   1. choose the path: evaluate the compares of the Txn and of every nested Txn on the
 *      chosen branches, all against the store as it was before the Txn (as etcd does);
 *   2. check the chosen ops against that same state: range revisions readable, puts with
 *      ignore_value/ignore_lease on existing keys, leases that exist. An error here leaves
 *      the store untouched;
 *   3. execute the chosen ops in order in one WriteTxn: all writes share one revision, and
 *      reads see the writes made before them.
 */
import { assert } from '../common/assert.js';
import { type CairnError, ErrorCode } from '../common/errors.js';
import { binaryOf } from './binary-string.js';
import { comparesHold } from './compare.js';
import { mvccError } from './errors.js';
import { keyRangeOf } from './key-range.js';
import { executeRange, type ReadView, rangeRevisionError } from './range.js';
import type {
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from './requests.js';
import { kvOf, valueBytesOf } from './slab-record.js';
import { EMPTY_BYTES } from './types.js';
import type { WriteTxn } from './write-txn.js';

/** Tells whether a lease exists; supplied by the lease machinery (replicated state). */
export type LeaseLookup = (leaseId: number) => boolean;

/** The outcome of every compare on the path a Txn takes. */
export interface TxnPath {
  readonly succeeded: boolean;
  /** For each op of the chosen branch: the path of the nested Txn it holds, if any. */
  readonly nested: readonly (TxnPath | undefined)[];
}

/** The branch a Txn runs. */
export function chosenOps(req: TxnRequest, path: TxnPath): readonly RequestOp[] {
  return (path.succeeded ? req.success : req.failure) ?? [];
}

/** Pass 1: evaluates the compares of the Txn and of the nested Txns it will run. */
export function choosePath(view: ReadView, req: TxnRequest): TxnPath {
  const succeeded = comparesHold(view, req.compare ?? []);
  const ops = (succeeded ? req.success : req.failure) ?? [];
  return {
    succeeded,
    nested: ops.map((op) => ('requestTxn' in op ? choosePath(view, op.requestTxn) : undefined)),
  };
}

/** Pass 2: the first reason the chosen ops cannot run against the state before the Txn. */
export function checkPath(
  view: ReadView,
  req: TxnRequest,
  path: TxnPath,
  leaseExists: LeaseLookup,
): CairnError | undefined {
  const ops = chosenOps(req, path);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    let err: CairnError | undefined;
    if ('requestRange' in op) {
      const code = rangeRevisionError(view, op.requestRange.revision ?? 0);
      err = code === undefined ? undefined : mvccError(code);
    } else if ('requestPut' in op) {
      err = checkPut(view, op.requestPut, leaseExists);
    } else if ('requestTxn' in op) {
      err = checkPath(view, op.requestTxn, path.nested[i]!, leaseExists);
    }
    if (err !== undefined) return err;
  }
  return undefined;
}

/** A put's preconditions on the state, in etcd's Txn order: the key (for ignore_*), then the lease. */
export function checkPut(view: ReadView, req: PutRequest, leaseExists: LeaseLookup): CairnError | undefined {
  return checkPutKey(view, req) ?? checkLease(req, leaseExists);
}

/** ignore_value and ignore_lease need the key to exist. */
export function checkPutKey(view: ReadView, req: PutRequest): CairnError | undefined {
  if (req.ignoreValue !== true && req.ignoreLease !== true) return undefined;
  const live = view.state.at(binaryOf(req.key), view.revision);
  return live === undefined ? mvccError(ErrorCode.KEY_NOT_FOUND) : undefined;
}

/** A put's lease, if any, must exist. */
export function checkLease(req: PutRequest, leaseExists: LeaseLookup): CairnError | undefined {
  const lease = req.lease ?? 0;
  return lease !== 0 && !leaseExists(lease) ? mvccError(ErrorCode.LEASE_NOT_FOUND) : undefined;
}

/**
 * Pass 3: runs the chosen ops. `nested` Txns answer with header revision 0, as etcd leaves
 * a nested TxnResponse's header unset; the outermost one answers with the store revision
 * after the Txn.
 */
export function executeTxn(txn: WriteTxn, req: TxnRequest, path: TxnPath, nested: boolean): TxnResponse {
  const ops = chosenOps(req, path);
  const responses: ResponseOp[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if ('requestRange' in op) responses.push({ responseRange: executeRange(txn, op.requestRange) });
    else if ('requestPut' in op) responses.push({ responsePut: executePut(txn, op.requestPut) });
    else if ('requestDeleteRange' in op)
      responses.push({ responseDeleteRange: executeDeleteRange(txn, op.requestDeleteRange) });
    else responses.push({ responseTxn: executeTxn(txn, op.requestTxn, path.nested[i]!, true) });
  }
  return { header: { revision: nested ? 0 : txn.revision }, succeeded: path.succeeded, responses };
}

/** Writes one key whose checks passed; reads the previous version first when the request needs it. */
export function executePut(txn: WriteTxn, req: PutRequest): PutResponse {
  const key = binaryOf(req.key);
  const prev = txn.state.current(key);
  const keepCurrent = req.ignoreValue === true || req.ignoreLease === true;
  assert(!keepCurrent || prev !== undefined, 'ignore_value/ignore_lease on a missing key passed the checks');
  const value = req.ignoreValue === true ? valueBytesOf(prev!) : (req.value ?? EMPTY_BYTES);
  const lease = req.ignoreLease === true ? prev!.lease : (req.lease ?? 0);
  txn.put(key, value, lease);
  const header = { revision: txn.writeRevision };
  return req.prevKv === true && prev !== undefined ? { header, prevKv: kvOf(prev) } : { header };
}

/** Deletes a range; the revision answered is the write's if anything changed so far, else the current one. */
export function executeDeleteRange(txn: WriteTxn, req: DeleteRangeRequest): DeleteRangeResponse {
  const deleted = txn.deleteRange(keyRangeOf(req.key, req.rangeEnd));
  return {
    header: { revision: txn.revision },
    deleted: deleted.length,
    prevKvs: req.prevKv === true ? deleted.map((r) => kvOf(r)) : [],
  };
}
