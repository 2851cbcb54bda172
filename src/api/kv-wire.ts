/**
 * Conversions between etcd's wire messages (snake_case, as proto-loader decodes them) and
 * the mvcc store's requests and responses. Numbers above 2^53 cannot be represented and are
 * refused with INVALID_ARGUMENT rather than silently rounded.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '../mvcc/index.js';
import type { WireHeader } from './header.js';

// biome-ignore lint/suspicious/noExplicitAny: wire objects are dynamic, decoded by proto-loader
type Wire = any;

const EMPTY = new Uint8Array(0);

function bytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY;
}

function num(v: unknown, field: string): number {
  const n = typeof v === 'number' ? v : Number(v ?? 0);
  if (!Number.isSafeInteger(n))
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `etcdserver: ${field} is out of range`);
  return n;
}

/** A range request from the wire. */
export function rangeFromWire(w: Wire): RangeRequest {
  return {
    key: bytes(w.key),
    rangeEnd: bytes(w.range_end),
    limit: num(w.limit, 'limit'),
    revision: num(w.revision, 'revision'),
    sortOrder: num(w.sort_order, 'sort_order'),
    sortTarget: num(w.sort_target, 'sort_target'),
    serializable: w.serializable === true,
    keysOnly: w.keys_only === true,
    countOnly: w.count_only === true,
    minModRevision: num(w.min_mod_revision, 'min_mod_revision'),
    maxModRevision: num(w.max_mod_revision, 'max_mod_revision'),
    minCreateRevision: num(w.min_create_revision, 'min_create_revision'),
    maxCreateRevision: num(w.max_create_revision, 'max_create_revision'),
  } as RangeRequest;
}

/** A put request from the wire. */
export function putFromWire(w: Wire): PutRequest {
  return {
    key: bytes(w.key),
    value: bytes(w.value),
    lease: num(w.lease, 'lease'),
    prevKv: w.prev_kv === true,
    ignoreValue: w.ignore_value === true,
    ignoreLease: w.ignore_lease === true,
  };
}

/** A delete-range request from the wire. */
export function deleteFromWire(w: Wire): DeleteRangeRequest {
  return { key: bytes(w.key), rangeEnd: bytes(w.range_end), prevKv: w.prev_kv === true };
}

function compareFromWire(w: Wire): Compare {
  const c: Record<string, unknown> = {
    result: num(w.result, 'result'),
    target: num(w.target, 'target'),
    key: bytes(w.key),
    rangeEnd: bytes(w.range_end),
  };
  switch (w.target_union) {
    case 'version':
      c.version = num(w.version, 'version');
      break;
    case 'create_revision':
      c.createRevision = num(w.create_revision, 'create_revision');
      break;
    case 'mod_revision':
      c.modRevision = num(w.mod_revision, 'mod_revision');
      break;
    case 'value':
      c.value = bytes(w.value);
      break;
    case 'lease':
      c.lease = num(w.lease, 'lease');
      break;
    default:
      break;
  }
  return c as unknown as Compare;
}

function opFromWire(w: Wire): RequestOp {
  switch (w.request) {
    case 'request_range':
      return { requestRange: rangeFromWire(w.request_range) };
    case 'request_put':
      return { requestPut: putFromWire(w.request_put) };
    case 'request_delete_range':
      return { requestDeleteRange: deleteFromWire(w.request_delete_range) };
    case 'request_txn':
      return { requestTxn: txnFromWire(w.request_txn) };
    default:
      throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'etcdserver: a txn operation has no request');
  }
}

/** A txn request from the wire. */
export function txnFromWire(w: Wire): TxnRequest {
  return {
    compare: (w.compare ?? []).map(compareFromWire),
    success: (w.success ?? []).map(opFromWire),
    failure: (w.failure ?? []).map(opFromWire),
  };
}

/** A KeyValue as mvccpb.KeyValue on the wire. */
export function kvToWire(kv: KeyValue): Wire {
  return {
    key: kv.key,
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease,
  };
}

/** A range response for the wire; nested responses carry only the revision in their header. */
export function rangeToWire(r: RangeResponse, header: WireHeader): Wire {
  return { header, kvs: r.kvs.map(kvToWire), more: r.more, count: r.count };
}

/** A put response for the wire. */
export function putToWire(r: PutResponse, header: WireHeader): Wire {
  return { header, ...(r.prevKv ? { prev_kv: kvToWire(r.prevKv) } : {}) };
}

/** A delete-range response for the wire. */
export function deleteToWire(r: DeleteRangeResponse, header: WireHeader): Wire {
  return { header, deleted: r.deleted, prev_kvs: r.prevKvs.map(kvToWire) };
}

function nestedHeader(revision: number): WireHeader {
  return { cluster_id: 0, member_id: 0, revision, raft_term: 0 };
}

function opToWire(op: ResponseOp): Wire {
  if ('responseRange' in op)
    return { response_range: rangeToWire(op.responseRange, nestedHeader(op.responseRange.header.revision)) };
  if ('responsePut' in op)
    return { response_put: putToWire(op.responsePut, nestedHeader(op.responsePut.header.revision)) };
  if ('responseDeleteRange' in op) {
    return {
      response_delete_range: deleteToWire(
        op.responseDeleteRange,
        nestedHeader(op.responseDeleteRange.header.revision),
      ),
    };
  }
  return { response_txn: txnToWire(op.responseTxn, nestedHeader(op.responseTxn.header.revision)) };
}

/** A txn response for the wire. */
export function txnToWire(r: TxnResponse, header: WireHeader): Wire {
  return { header, succeeded: r.succeeded, responses: r.responses.map(opToWire) };
}
