/**
 * mvcc: Cairn's replicated state machine, etcd's v3 data model. Depends on common/ only.
 *
 * Data model. An ordered key index (key -> its only record, or once it has several a
 * KeyIndex: the key's records in revision order, its generations one after another, as
 * etcd's keyIndex) whose entries hold the history records themselves, and a history (main
 * revision -> its only record, or its records) in revision order. Records
 * hold keys as binary strings (binary-string.ts) and values in slabs off the V8 heap
 * (slab-record.ts; empty and large values as binary strings); readers get KeyValues with
 * fresh byte arrays. An empty store is at revision 1; each
 * write that changes something raises it by one and all changes of one write share it
 * (sub revisions 0, 1, ...). Per key: createRevision, modRevision, version, lease.
 *
 * Applying. `store.apply(command)` is the only way in for writes; the node calls it in log
 * order with commands decoded by `decodeCommand` from entries `encodeCommand` produced. It
 * is deterministic (no clock, no randomness) and never throws for a bad command: the result
 * is `{ ok: true, response, events, changes }` or `{ ok: false, error, events, changes }`.
 * `events` are the PUT/DELETE events of the revision written (with prevKv), for the watch
 * hub. Reads (`range`, `readTxn`, `hashKV`) throw CairnError.
 *
 * Errors. A CairnError with a stable code (COMPACTED, FUTURE_REVISION, TOO_MANY_OPS,
 * DUPLICATE_KEY, KEY_NOT_FOUND, EMPTY_KEY, VALUE_PROVIDED, LEASE_PROVIDED, LEASE_NOT_FOUND,
 * INVALID_ARGUMENT) whose message is etcd's exact error string; common/wire-errors.ts says which
 * gRPC status etcd sends with it.
 *
 * Compaction boundary. Compact(r) keeps r readable: afterwards a read at a revision below r
 * answers COMPACTED, at r or above it succeeds (etcd's rule, `rev < compactMainRev`; the
 * phrase "at or below the compaction point" in ETCD-COMPAT.md holds for a second Compact,
 * which refuses any r' <= r with COMPACTED). A tombstone at exactly r is kept until the next
 * compaction, as etcd 3.6 does, so the DELETE events of revision r can still be replayed.
 *
 * Persistence (for storage/). Each apply returns `changes: MvccChanges`:
 *   - revisions: RevisionWrite[] -> for each, put encodeRevisionValue(records) under a key
 *     naming its main revision, or delete that key when it holds no records (compaction);
 *     put valuesToStore(records) and delete storedValueKeys(droppedValues), in a keyspace
 *     start-up does not read
 *   - meta: { currentRevision, compactedRevision } -> put one meta key => encodeMeta(meta)
 * Write them in the same LevelDB batch as the applied raft index (MvccChangeBuffer merges
 * several applies into one batch). At start-up, read the meta and every revision in order,
 * decodeRevisionRows each into one LoadedRows (records as columns, not objects: loaded-rows.ts;
 * values are left in storage and read when asked: stored-values.ts; values of older folders
 * go into slabs, off the V8 heap: slab-record.ts), and call
 * `MvccStore.load({ meta, records, rows, values })`. After installing a
 * raft snapshot, replace all revisions, values and the meta with `store.persisted()` (revisionsOf
 * groups its records). Folders of older versions hold one record per key (encodeRecordKey,
 * decodeRecord). The mvcc keys should live under a prefix of their own in the LevelDB key space.
 *
 * Watching. `WatchHub` (watch-hub.ts) holds one member's watchers over its store: call
 * `hub.notify(revision, events)` after each apply that produced events and
 * `hub.restored(store)` after a snapshot replaced the store.
 *
 * Snapshots. `store.snapshot(appliedIndex)` serializes everything (uncompacted history,
 * revisions, the caller's applied raft index) with a CRC, as LazyBytes: the state of that
 * moment (a copy-on-write view), made into bytes as they are read; `MvccStore.restore(bytes)` gives
 * back an identical store and that index. `hashKV(rev)` is a CRC-32 of the persistent form.
 */

export type { ApplyResult } from './apply.js';
export { ByteReader, ByteWriter } from './codec/bytes.js';
export { decodeCommand, encodeCommand } from './codec/command-codec.js';
export {
  decodeMeta,
  decodeRecord,
  decodeRecordKey,
  decodeRevisionRows,
  decodeRevisionValue,
  encodeMeta,
  encodeRecordKey,
  encodeRecordValue,
  encodeRevisionValue,
  RECORD_KEY_BYTES,
  storedValueKeys,
  valuesToStore,
} from './codec/record-codec.js';
export { type DecodedSnapshot, decodeSnapshot, encodeSnapshot } from './codec/snapshot-codec.js';
export type { Command, CommandResponse, CommandResponses, ResponseOf } from './commands.js';
export { type MvccErrorCode, mvccError } from './errors.js';
export type { HashKVResult } from './hash.js';
export { compareKeys } from './key-range.js';
export { LEASE_TTL_SECONDS_MAX, type LeaseRecord, LeaseTable } from './lease-table.js';
export { LoadedRows, type RecordRef, recordOfRef } from './loaded-rows.js';
export {
  MvccChangeBuffer,
  type MvccChanges,
  type MvccMeta,
  type PersistedMvcc,
  type RevisionWrite,
  revisionsOf,
} from './persistence.js';
export {
  type CompactionRequest,
  type CompactionResponse,
  type Compare,
  CompareResult,
  CompareTarget,
  type DeleteKeysResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type LeaseGrantResponse,
  type LeaseRevokeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  SortOrder,
  SortTarget,
  type TxnRequest,
  type TxnResponse,
} from './requests.js';
export { kvOf, SlabWriter } from './slab-record.js';
export { MvccStore, type MvccStoreOptions, type RestoredStore } from './store.js';
export type { PinnedValues, StoredValues } from './stored-values.js';
export type { LeaseLookup } from './txn.js';
export {
  compareRevisions,
  EMPTY_BYTES,
  EventType,
  type KeyValue,
  type MvccEvent,
  type Revision,
  type RevisionRecord,
} from './types.js';
export {
  DEFAULT_MAX_TXN_OPS,
  validateDeleteRange,
  validatePut,
  validateRange,
  validateTxn,
} from './validate.js';
export { WatchHub } from './watch-hub.js';
export {
  DEFAULT_WATCH_HUB_LIMITS,
  eventSizeBytes,
  type WatchBatch,
  type WatchEnd,
  type WatchHandle,
  type WatchHubLimits,
  type WatchOptions,
  type WatchSink,
} from './watch-types.js';
