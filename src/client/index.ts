/**
 * Cairn's TypeScript SDK, the package's public API: a Client for KV, watches, leases and
 * sessions over etcd's v3 API, the coordination helpers over Cairn's own services, the
 * load balancers, and the typed errors they all throw.
 */
export * from './balancers/index.js';
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
export {
  type AwaitDecisionOptions,
  type BeginOptions,
  type BeginResult,
  Coordinator,
  type CoordinatorCallOptions,
  type ListOptions,
  type ListResult,
} from './coordinator.js';
export type { TxnDecision, TxnDecisionEvent, TxnRecord, TxnState, TxnVote } from './coordinator-types.js';
export { DecisionWatch, type DecisionWatchOptions } from './coordinator-watch.js';
export { Election, type ElectionOptions, type LeaderKey } from './election.js';
export { ElectionObserver } from './election-observer.js';
export { DEFAULT_ENDPOINTS, type TlsOptions } from './endpoints.js';
export { ClientError, ErrorCode, isClientError } from './errors.js';
export {
  BALANCER_KEY_HEADER,
  CAIRN_LB_POLICY,
  type CairnChannelOptions,
  cairnChannelOptions,
  registerCairnGrpc,
  registerCairnResolver,
} from './grpc/index.js';
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
export { LockHandle, type LockHandleEvents, type LockLostReason } from './lock-handle.js';
export type { LockDescription, LockHolder, LockList, LockSummary, LockWaiter } from './lock-info.js';
export {
  DEFAULT_LOCK_TTL_SECONDS,
  type LockContext,
  type LockOptions,
  Locks,
  Mutex,
  ReadWriteLock,
  Semaphore,
  type TryLockResult,
} from './locks.js';
export {
  Participant,
  type ParticipantCallOptions,
  type ParticipantHandlers,
  type ParticipantOptions,
  type PrepareOutcome,
  type RecoveryResult,
  type RunResult,
} from './participant.js';
export {
  type LoadReport,
  type RegisterOptions,
  Registration,
  type RegistrationEvents,
} from './registration.js';
export { Registry } from './registry.js';
export type { InstanceRegistration, ServiceInstance } from './registry-types.js';
export type { RetryOptions } from './retry.js';
export { ServiceView, type ServiceViewEvents, type ServiceViewOptions } from './service-view.js';
export { Session, type SessionOptions } from './session.js';
export { type CompareOp, TxnBuilder, type TxnResult } from './txn.js';
export { type WatchEvent, Watcher, type WatchOptions } from './watch.js';
