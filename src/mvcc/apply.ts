/**
 * The state machine's single entry point: one command in, its response (or the error every
 * member reaches for it), the events of the revision it wrote, and the changes to persist.
 * Deterministic: the outcome depends only on the state and the command. Errors are values,
 * never exceptions, because a command in the log is applied on every member whatever it
 * answers; an exception out of here is an invariant violation (a bug).
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { type BinaryString, binaryOf, compareBinary } from './binary-string.js';
import type { Command, CommandResponse, ResponseOf } from './commands.js';
import { mvccError } from './errors.js';
import { LEASE_TTL_SECONDS_MAX } from './lease-table.js';
import { type MvccChanges, revisionsOf } from './persistence.js';
import type {
  CompactionRequest,
  DeleteKeysResponse,
  LeaseGrantResponse,
  LeaseRevokeResponse,
} from './requests.js';
import type { KvState } from './state.js';
import {
  checkLease,
  checkPath,
  checkPutKey,
  choosePath,
  executeDeleteRange,
  executePut,
  executeTxn,
  type LeaseLookup,
} from './txn.js';
import type { MvccEvent } from './types.js';
import { validateDeleteRange, validatePut, validateTxn } from './validate.js';
import { WriteTxn } from './write-txn.js';

/** What applying a command did. `events` and `changes` are present (maybe empty) either way. */
export type ApplyResult<R = CommandResponse> =
  | {
      readonly ok: true;
      readonly response: R;
      /** The events of the revision written, in sub-revision order; empty if nothing changed. */
      readonly events: readonly MvccEvent[];
      readonly changes: MvccChanges;
    }
  | {
      readonly ok: false;
      readonly error: CairnError;
      readonly events: readonly MvccEvent[];
      readonly changes: MvccChanges;
    };

/** The settings apply depends on; they must be equal on every member. */
export interface ApplyContext {
  readonly maxTxnOps: number;
  readonly leaseExists: LeaseLookup;
}

/** Applies one command to the state. */
export function applyCommand<C extends Command>(
  state: KvState,
  command: C,
  ctx: ApplyContext,
): ApplyResult<ResponseOf<C>> {
  return applyAny(state, command, ctx) as ApplyResult<ResponseOf<C>>;
}

function applyAny(state: KvState, command: Command, ctx: ApplyContext): ApplyResult {
  switch (command.type) {
    case 'put': {
      const req = command.request;
      const txn = new WriteTxn(state);
      // etcd's order for a lone put: shape, then the lease, then the key for ignore_*.
      const err = validatePut(req) ?? checkLease(req, ctx.leaseExists) ?? checkPutKey(txn, req);
      if (err !== undefined) return failed(state, err);
      return finished(txn, executePut(txn, req));
    }
    case 'deleteRange': {
      const err = validateDeleteRange(command.request);
      if (err !== undefined) return failed(state, err);
      const txn = new WriteTxn(state);
      return finished(txn, executeDeleteRange(txn, command.request));
    }
    case 'txn': {
      const req = command.request;
      const shapeErr = validateTxn(req, ctx.maxTxnOps);
      if (shapeErr !== undefined) return failed(state, shapeErr);
      const txn = new WriteTxn(state);
      const path = choosePath(txn, req);
      const err = checkPath(txn, req, path, ctx.leaseExists);
      if (err !== undefined) return failed(state, err);
      return finished(txn, executeTxn(txn, req, path, false));
    }
    case 'compact':
      return compact(state, command.request);
    case 'deleteKeys': {
      const txn = new WriteTxn(state);
      let deleted = 0;
      for (const key of sortedUnique(command.keys)) if (txn.deleteKey(key) !== undefined) deleted++;
      const response: DeleteKeysResponse = { header: { revision: txn.revision }, deleted };
      return finished(txn, response);
    }
    case 'leaseGrant':
      return grantLease(state, command.id, command.ttlSeconds);
    case 'leaseRevoke':
      return revokeLease(state, command.id);
  }
}

/** Grants a lease (etcd's lessor.Grant): id 0 and existing ids are refused; no revision is written. */
function grantLease(state: KvState, id: number, ttlSeconds: number): ApplyResult {
  if (!Number.isSafeInteger(id) || id <= 0)
    return failed(
      state,
      new CairnError(ErrorCode.INVALID_ARGUMENT, `lease id ${id} is not a positive integer`),
    );
  if (ttlSeconds > LEASE_TTL_SECONDS_MAX) return failed(state, mvccError(ErrorCode.LEASE_TTL_TOO_LARGE));
  if (state.leaseTable.has(id)) return failed(state, mvccError(ErrorCode.LEASE_EXISTS));
  const record = { id, ttlSeconds };
  state.leaseTable.add(record);
  const response: LeaseGrantResponse = { header: { revision: state.currentRevision }, id, ttlSeconds };
  return {
    ok: true,
    response,
    events: [],
    changes: { revisions: [], meta: metaOf(state), leasesGranted: [record] },
  };
}

/** Revokes a lease: its keys are deleted together in one revision (one DELETE event each), then the lease goes. */
function revokeLease(state: KvState, id: number): ApplyResult {
  if (!state.leaseTable.has(id)) return failed(state, mvccError(ErrorCode.LEASE_NOT_FOUND));
  const txn = new WriteTxn(state);
  let deleted = 0;
  for (const key of state.keysOfLease(id)) if (txn.deleteKey(key) !== undefined) deleted++;
  const outcome = txn.finish();
  state.leaseTable.remove(id);
  const response: LeaseRevokeResponse = { header: { revision: state.currentRevision }, deleted };
  return {
    ok: true,
    response,
    events: outcome.events,
    changes: { revisions: [...revisionsOf(outcome.records)], meta: metaOf(state), leasesRevoked: [id] },
  };
}

/**
 * Compaction boundary, as etcd: Compact(r) refuses r at or below the previous compaction
 * (COMPACTED) and r above the current revision (FUTURE_REVISION); afterwards reads at
 * revisions below r answer COMPACTED and r itself stays readable.
 */
function compact(state: KvState, req: CompactionRequest): ApplyResult {
  if (req.revision <= state.compactedRevision) return failed(state, mvccError(ErrorCode.COMPACTED));
  if (req.revision > state.currentRevision) return failed(state, mvccError(ErrorCode.FUTURE_REVISION));
  const revisions = state.compact(req.revision);
  return {
    ok: true,
    response: { header: { revision: state.currentRevision } },
    events: [],
    changes: { revisions, meta: metaOf(state) },
  };
}

function finished(txn: WriteTxn, response: CommandResponse): ApplyResult {
  const outcome = txn.finish();
  return {
    ok: true,
    response,
    events: outcome.events,
    changes: { revisions: [...revisionsOf(outcome.records)], meta: metaOf(txn.state) },
  };
}

function failed(state: KvState, error: CairnError): ApplyResult {
  return { ok: false, error, events: [], changes: { revisions: [], meta: metaOf(state) } };
}

function metaOf(state: KvState): MvccChanges['meta'] {
  return { currentRevision: state.currentRevision, compactedRevision: state.compactedRevision };
}

function sortedUnique(keys: readonly Uint8Array[]): BinaryString[] {
  const sorted = keys.map((k) => binaryOf(k)).sort(compareBinary);
  return sorted.filter((key, i) => i === 0 || sorted[i - 1] !== key);
}
