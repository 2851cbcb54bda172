/**
 * Checks of a request's shape, which need no state: etcd makes them in its gRPC layer
 * before proposing (checkPutRequest, checkTxnRequest, checkIntervals...). Cairn's api/ calls
 * them for the same early answer, and apply() calls them again so that a command in the log
 * has the same outcome on every member whoever proposed it. Each returns the first error in
 * etcd's order, or undefined.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { mvccError } from './errors.js';
import { compareKeys } from './key-range.js';
import {
  type Compare,
  CompareResult,
  CompareTarget,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  SortOrder,
  SortTarget,
  type TxnRequest,
} from './requests.js';

/** etcd's default for --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128;

/** Checks a range: a key, and sort options etcd knows. */
export function validateRange(req: RangeRequest): CairnError | undefined {
  if (req.key.length === 0) return mvccError(ErrorCode.EMPTY_KEY);
  const order = req.sortOrder ?? SortOrder.None;
  const target = req.sortTarget ?? SortTarget.Key;
  if (!(order in SortOrder) || !(target in SortTarget))
    return new CairnError(ErrorCode.INVALID_ARGUMENT, 'etcdserver: invalid sort option');
  return undefined;
}

/** Checks a put: a key, and no value or lease next to the flag that says to keep the current one. */
export function validatePut(req: PutRequest): CairnError | undefined {
  if (req.key.length === 0) return mvccError(ErrorCode.EMPTY_KEY);
  if (req.ignoreValue === true && (req.value?.length ?? 0) !== 0) return mvccError(ErrorCode.VALUE_PROVIDED);
  if (req.ignoreLease === true && (req.lease ?? 0) !== 0) return mvccError(ErrorCode.LEASE_PROVIDED);
  return undefined;
}

/** Checks a delete: a key. */
export function validateDeleteRange(req: DeleteRangeRequest): CairnError | undefined {
  if (req.key.length === 0) return mvccError(ErrorCode.EMPTY_KEY);
  return undefined;
}

/**
 * Checks a Txn: no list (compares, success, failure) longer than maxTxnOps, and a nested
 * Txn no longer than what its parent's longest list leaves (etcd's budget rule); keys
 * present; then that no key is written twice (see checkWrites).
 */
export function validateTxn(req: TxnRequest, maxTxnOps: number): CairnError | undefined {
  const err = checkTxnShape(req, maxTxnOps);
  if (err !== undefined) return err;
  for (const branch of [req.success ?? [], req.failure ?? []]) {
    const writes = checkWrites(branch);
    if (writes instanceof CairnError) return writes;
  }
  return undefined;
}

function checkTxnShape(req: TxnRequest, maxTxnOps: number): CairnError | undefined {
  const compare = req.compare ?? [];
  const success = req.success ?? [];
  const failure = req.failure ?? [];
  const longest = Math.max(compare.length, success.length, failure.length);
  if (longest > maxTxnOps) return mvccError(ErrorCode.TOO_MANY_OPS);
  for (const c of compare) {
    const err = validateCompare(c);
    if (err !== undefined) return err;
  }
  for (const op of [...success, ...failure]) {
    const err = checkOp(op, maxTxnOps - longest);
    if (err !== undefined) return err;
  }
  return undefined;
}

function validateCompare(c: Compare): CairnError | undefined {
  if (c.key.length === 0) return mvccError(ErrorCode.EMPTY_KEY);
  if (!(c.result in CompareResult) || !(c.target in CompareTarget))
    return new CairnError(ErrorCode.INVALID_ARGUMENT, 'etcdserver: invalid compare result or target');
  return undefined;
}

function checkOp(op: RequestOp, maxTxnOps: number): CairnError | undefined {
  if ('requestRange' in op) return validateRange(op.requestRange);
  if ('requestPut' in op) return validatePut(op.requestPut);
  if ('requestDeleteRange' in op) return validateDeleteRange(op.requestDeleteRange);
  if ('requestTxn' in op) return checkTxnShape(op.requestTxn, maxTxnOps);
  // An op with no request: etcd answers ErrGRPCKeyNotFound.
  return mvccError(ErrorCode.KEY_NOT_FOUND);
}

/** A deleted interval [start, end), compared bytewise; end is never the "no bound" form here. */
interface DeletedInterval {
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

/** The keys a list of ops puts and the intervals it deletes, its own and its nested Txns'. */
interface Writes {
  readonly puts: Set<string>;
  readonly dels: DeletedInterval[];
}

/**
 * etcd's duplicate-key rule (checkIntervals), reproduced because clients can observe it:
 * within one list of ops, a key may be put once; a put may not fall in a delete's range of
 * the same list or of a nested Txn listed before it; the success and failure branches of one
 * nested Txn may put the same key (only one runs); overlapping deletes are fine. Ranges are
 * compared bytewise with no special case for a range end of "\0", so a delete "to the end"
 * does not conflict with puts — etcd's observable behaviour, kept on purpose.
 */
function checkWrites(ops: readonly RequestOp[]): Writes | CairnError {
  const dels: DeletedInterval[] = [];
  for (const op of ops) {
    if (!('requestDeleteRange' in op)) continue;
    const { key, rangeEnd } = op.requestDeleteRange;
    dels.push({ start: key, end: rangeEnd !== undefined && rangeEnd.length > 0 ? rangeEnd : successor(key) });
  }
  const puts = new Set<string>();
  const conflicts = (k: string, bytes: Uint8Array): boolean =>
    puts.has(k) || dels.some((d) => inside(bytes, d));
  for (const op of ops) {
    if (!('requestTxn' in op)) continue;
    const then = checkWrites(op.requestTxn.success ?? []);
    if (then instanceof CairnError) return then;
    const otherwise = checkWrites(op.requestTxn.failure ?? []);
    if (otherwise instanceof CairnError) return otherwise;
    for (const k of then.puts) {
      if (conflicts(k, keyBytes(k))) return mvccError(ErrorCode.DUPLICATE_KEY);
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      const bytes = keyBytes(k);
      if ((puts.has(k) && !then.puts.has(k)) || dels.some((d) => inside(bytes, d)))
        return mvccError(ErrorCode.DUPLICATE_KEY);
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!('requestPut' in op)) continue;
    const bytes = op.requestPut.key;
    const k = keyString(bytes);
    if (conflicts(k, bytes)) return mvccError(ErrorCode.DUPLICATE_KEY);
    puts.add(k);
  }
  return { puts, dels };
}

function inside(key: Uint8Array, d: DeletedInterval): boolean {
  return compareKeys(d.start, key) <= 0 && compareKeys(key, d.end) < 0;
}

/** The smallest key after key: key + "\0". */
function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** A key as a Set member: latin1 maps each byte to one code unit, so it is lossless. */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function keyBytes(k: string): Uint8Array {
  return Buffer.from(k, 'latin1');
}
