/**
 * The operations a transaction (or a plain call) carries — get, put, delete — as values
 * built with `op.get/put/delete`, their wire form (etcd's RequestOp), and the results read
 * back from etcd's ResponseOp.
 */
import type { Wire } from './connection.js';
import {
  type Bytes,
  type KeyValue,
  keyValueOf,
  optionalKeyValue,
  type RangeSelector,
  rangeEndOf,
  toBytes,
} from './kv-types.js';

/** What a range sorts by. */
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/** Options of a get. */
export interface GetOptions extends RangeSelector {
  /** Read the store as it was at this revision (0 or absent: now). */
  revision?: number;
  /** At most this many keys (0: no limit). */
  limit?: number;
  /** Read the local member's state without a quorum round (may be stale). */
  serializable?: boolean;
  /** Leave values out. */
  keysOnly?: boolean;
  /** Only count. */
  countOnly?: boolean;
  /** Sort order; default by key ascending. */
  sort?: { target: SortTarget; order: 'ascend' | 'descend' };
}

/** Options of a put. */
export interface PutOptions {
  /** Attach the key to this lease (0: none). */
  lease?: number;
  /** Return the previous key-value. */
  prevKv?: boolean;
  /** Keep the current value (only the lease changes). */
  ignoreValue?: boolean;
  /** Keep the current lease. */
  ignoreLease?: boolean;
}

/** Options of a delete. */
export interface DeleteOptions extends RangeSelector {
  /** Return the deleted key-values. */
  prevKv?: boolean;
}

/** The result of a get. */
export interface GetResult {
  /** The key-values read, in key order. */
  kvs: KeyValue[];
  /** How many keys the range holds (beyond a limit too). */
  count: number;
  /** Whether a limit left keys out. */
  more: boolean;
  /** The store's revision when it was read. */
  revision: number;
}

/** The result of a put. */
export interface PutResult {
  /** The revision the put created. */
  revision: number;
  /** The value before the put, when prevKv was asked for and the key existed. */
  prevKv?: KeyValue;
}

/** The result of a delete. */
export interface DeleteResult {
  /** The revision the delete created (the store's revision when nothing was deleted). */
  revision: number;
  /** How many keys were deleted. */
  deleted: number;
  /** The deleted key-values, when prevKv was asked for. */
  prevKvs: KeyValue[];
}

/** One operation, built with `op`. */
export type Op =
  | { readonly kind: 'get'; readonly key: Buffer; readonly options: GetOptions }
  | { readonly kind: 'put'; readonly key: Buffer; readonly value: Buffer; readonly options: PutOptions }
  | { readonly kind: 'delete'; readonly key: Buffer; readonly options: DeleteOptions };

/** One operation's result inside a transaction. */
export type OpResult =
  | ({ kind: 'get' } & GetResult)
  | ({ kind: 'put' } & PutResult)
  | ({ kind: 'delete' } & DeleteResult);

/** Builders of transaction operations. */
export const op = {
  /** Reads a key or a range. */
  get: (key: Bytes, options: GetOptions = {}): Op => ({ kind: 'get', key: toBytes(key), options }),
  /** Writes a key. */
  put: (key: Bytes, value: Bytes, options: PutOptions = {}): Op => ({
    kind: 'put',
    key: toBytes(key),
    value: toBytes(value),
    options,
  }),
  /** Deletes a key or a range. */
  delete: (key: Bytes, options: DeleteOptions = {}): Op => ({ kind: 'delete', key: toBytes(key), options }),
};

const SORT_TARGET: Record<SortTarget, number> = { key: 0, version: 1, create: 2, mod: 3, value: 4 };

/** The wire RangeRequest of a get. */
export function rangeRequest(key: Buffer, o: GetOptions): Wire {
  return {
    key,
    range_end: rangeEndOf(key, o),
    limit: o.limit ?? 0,
    revision: o.revision ?? 0,
    sort_order: o.sort ? (o.sort.order === 'ascend' ? 1 : 2) : 0,
    sort_target: o.sort ? SORT_TARGET[o.sort.target] : 0,
    serializable: o.serializable ?? false,
    keys_only: o.keysOnly ?? false,
    count_only: o.countOnly ?? false,
  };
}

/** The wire PutRequest of a put. */
export function putRequest(key: Buffer, value: Buffer, o: PutOptions): Wire {
  return {
    key,
    value,
    lease: o.lease ?? 0,
    prev_kv: o.prevKv ?? false,
    ignore_value: o.ignoreValue ?? false,
    ignore_lease: o.ignoreLease ?? false,
  };
}

/** The wire DeleteRangeRequest of a delete. */
export function deleteRequest(key: Buffer, o: DeleteOptions): Wire {
  return { key, range_end: rangeEndOf(key, o), prev_kv: o.prevKv ?? false };
}

/** The wire RequestOp of an operation. */
export function requestOp(o: Op): Wire {
  switch (o.kind) {
    case 'get':
      return { request_range: rangeRequest(o.key, o.options) };
    case 'put':
      return { request_put: putRequest(o.key, o.value, o.options) };
    case 'delete':
      return { request_delete_range: deleteRequest(o.key, o.options) };
  }
}

/** A wire RangeResponse as a GetResult. */
export function getResult(r: Wire): GetResult {
  return {
    kvs: ((r.kvs ?? []) as Wire[]).map(keyValueOf),
    count: Number(r.count ?? 0),
    more: Boolean(r.more),
    revision: Number(r.header?.revision ?? 0),
  };
}

/** A wire PutResponse as a PutResult. */
export function putResult(r: Wire): PutResult {
  const prevKv = optionalKeyValue(r.prev_kv);
  return { revision: Number(r.header?.revision ?? 0), ...(prevKv ? { prevKv } : {}) };
}

/** A wire DeleteRangeResponse as a DeleteResult. */
export function deleteResult(r: Wire): DeleteResult {
  return {
    revision: Number(r.header?.revision ?? 0),
    deleted: Number(r.deleted ?? 0),
    prevKvs: ((r.prev_kvs ?? []) as Wire[]).map(keyValueOf),
  };
}

/** A wire ResponseOp as an OpResult; nested responses carry the transaction's revision. */
export function opResult(r: Wire, revision: number): OpResult {
  if (r.response_range) return { kind: 'get', ...getResult({ ...r.response_range, header: { revision } }) };
  if (r.response_put) return { kind: 'put', ...putResult({ ...r.response_put, header: { revision } }) };
  if (r.response_delete_range) {
    return { kind: 'delete', ...deleteResult({ ...r.response_delete_range, header: { revision } }) };
  }
  throw new Error('cairn client: a transaction response the SDK does not know (nested txn)');
}
