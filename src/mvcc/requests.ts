/**
 * Requests and responses of the KV operations, mirroring etcdserverpb's messages field for
 * field (camelCase), so that api/ converts wire messages with little more than a copy.
 * Optional fields take etcd's defaults when absent (0, false, empty). Responses carry only
 * the header's revision: api/ adds cluster id, member id and raft term.
 */
import type { KeyValue } from './types.js';

/** Sort direction of a range; numbers as etcdserverpb.RangeRequest.SortOrder. */
export enum SortOrder {
  None = 0,
  Ascend = 1,
  Descend = 2,
}

/** What a range sorts by; numbers as etcdserverpb.RangeRequest.SortTarget. */
export enum SortTarget {
  Key = 0,
  Version = 1,
  Create = 2,
  Mod = 3,
  Value = 4,
}

/** How a compare relates the stored field to the given one; numbers as etcdserverpb.Compare.CompareResult. */
export enum CompareResult {
  Equal = 0,
  Greater = 1,
  Less = 2,
  NotEqual = 3,
}

/** Which field a compare looks at; numbers as etcdserverpb.Compare.CompareTarget. */
export enum CompareTarget {
  Version = 0,
  Create = 1,
  Mod = 2,
  Value = 3,
  Lease = 4,
}

/** The part of every response the state machine knows: the store revision it answers at. */
export interface ResponseHeader {
  readonly revision: number;
}

/**
 * Reads keys in [key, rangeEnd). rangeEnd absent or empty: the single key; "\0": every key
 * >= key; otherwise the half-open interval (a prefix is [p, p+1)).
 */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** At most this many kvs; 0 or less for no limit. */
  readonly limit?: number;
  /** Read the store as it was at this revision; 0 or less for the current one. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** A hint for api/ (local read without ReadIndex); no effect on the state machine. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

/** The kvs a range found, whether the limit cut some off, and how many keys the range holds. */
export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
  /** Keys in the range at the read revision, before limit and the min/max filters (as etcd). */
  readonly count: number;
}

/** Writes one key. */
export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  /** The lease to attach the key to; 0 for none. */
  readonly lease?: number;
  readonly prevKv?: boolean;
  /** Keep the current value (the key must exist). */
  readonly ignoreValue?: boolean;
  /** Keep the current lease (the key must exist). */
  readonly ignoreLease?: boolean;
}

/** The revision of the put and, when asked for and present, the version it replaced. */
export interface PutResponse {
  readonly header: ResponseHeader;
  readonly prevKv?: KeyValue;
}

/** Deletes the keys in [key, rangeEnd), with rangeEnd read as in RangeRequest. */
export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

/** How many keys were deleted and, when asked for, their last versions. */
export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
}

/**
 * A condition of a Txn over one key or, with rangeEnd, every key of a range. Only the field
 * that matches target is read (etcd's target_union oneof); an absent one counts as 0 / empty.
 */
export interface Compare {
  readonly result: CompareResult;
  readonly target: CompareTarget;
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly version?: number;
  readonly createRevision?: number;
  readonly modRevision?: number;
  readonly value?: Uint8Array;
  readonly lease?: number;
}

/** One operation of a Txn (etcdserverpb.RequestOp's oneof): exactly one field is set. */
export type RequestOp =
  | { readonly requestRange: RangeRequest }
  | { readonly requestPut: PutRequest }
  | { readonly requestDeleteRange: DeleteRangeRequest }
  | { readonly requestTxn: TxnRequest };

/** The response to one operation of a Txn, in the shape of its request. */
export type ResponseOp =
  | { readonly responseRange: RangeResponse }
  | { readonly responsePut: PutResponse }
  | { readonly responseDeleteRange: DeleteRangeResponse }
  | { readonly responseTxn: TxnResponse };

/** If every compare holds, run success, else failure; all writes share one revision. */
export interface TxnRequest {
  readonly compare?: readonly Compare[];
  readonly success?: readonly RequestOp[];
  readonly failure?: readonly RequestOp[];
}

/** Which branch ran and the response of each of its operations, in order. */
export interface TxnResponse {
  /** The store revision after the Txn; 0 in a Txn nested in another (etcd leaves it unset). */
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

/** Discards the history before revision (revision itself stays readable). */
export interface CompactionRequest {
  readonly revision: number;
  /** api/ waits until the compaction is on disk before answering; no effect on the state machine. */
  readonly physical?: boolean;
}

/** The store revision when the compaction was applied. */
export interface CompactionResponse {
  readonly header: ResponseHeader;
}

/** How many of the listed keys existed and were deleted (in one revision). */
export interface DeleteKeysResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
}

/** A lease created: its id and the TTL it was granted with. */
export interface LeaseGrantResponse {
  readonly header: ResponseHeader;
  readonly id: number;
  readonly ttlSeconds: number;
}

/** A lease revoked; `deleted` keys went with it, in the revision of the header. */
export interface LeaseRevokeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
}
