/**
 * Cairn's TypeScript SDK, the package's public API: a Client for KV, watches, leases and
 * sessions over etcd's v3 API, the coordination helpers over Cairn's own services, the
 * load balancers, and the typed errors they all throw.
 */
export { Client, type ClientOptions } from './client.js';
export {
  type Alarm,
  ClusterMembers,
  Maintenance,
  type Member,
  type MemberStatus,
  type SavedSnapshot,
} from './cluster.js';
export type { CallOptions, ConnectionOptions } from './connection.js';
export { DEFAULT_ENDPOINTS, type TlsOptions } from './endpoints.js';
export { ClientError, ErrorCode, isClientError } from './errors.js';
export { KV } from './kv.js';
export {
  type DeleteOptions,
  type DeleteResult,
  type GetOptions,
  type GetResult,
  type Op,
  type OpResult,
  op,
  type PutOptions,
  type PutResult,
} from './kv-ops.js';
export type { Bytes, KeyValue, RangeSelector } from './kv-types.js';
export { Lease, type LeaseLostReason, Leases, type LeaseTimeToLive } from './lease.js';
export type { RetryOptions } from './retry.js';
export { Session, type SessionOptions } from './session.js';
export { type CompareOp, TxnBuilder, type TxnResult } from './txn.js';
export { type WatchEvent, Watcher, type WatchOptions } from './watch.js';
