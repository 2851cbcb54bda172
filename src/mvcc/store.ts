/**
 * MvccStore: the replicated state machine's public face. Writes enter only through apply()
 * (in raft log order); reads (range, read-only Txn, hash) are served from memory and throw
 * CairnError with etcd's messages; snapshot/restore and load rebuild it.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { LazyBytes } from '../common/lazy-bytes.js';
import { type ApplyContext, type ApplyResult, applyCommand } from './apply.js';
import { type BinaryString, bytesOf } from './binary-string.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_PIECE_BYTES } from './codec/snapshot-codec.js';
import type { Command, ResponseOf } from './commands.js';
import { mvccError } from './errors.js';
import { type HashKVResult, hashRecords } from './hash.js';
import type { LeaseRecord } from './lease-table.js';
import {
  type LoadedMvcc,
  loadState,
  loadStateInSteps,
  type MvccMeta,
  type PersistedMvcc,
} from './persistence.js';
import { executeRange, type ReadView, rangeRevisionError } from './range.js';
import type { RangeRequest, RangeResponse, TxnRequest, TxnResponse } from './requests.js';
import { kvOf } from './slab-record.js';
import { KvState } from './state.js';
import { checkPath, choosePath, executeTxn, type LeaseLookup } from './txn.js';
import type { KeyValue, RevisionRecord } from './types.js';
import { DEFAULT_MAX_TXN_OPS, validateRange, validateTxn } from './validate.js';
import { WriteTxn } from './write-txn.js';

/** Settings of the state machine. Both take part in apply, so every member must use the same ones. */
export interface MvccStoreOptions {
  /** Most operations in one list of a Txn (etcd's --max-txn-ops); 128 by default. */
  readonly maxTxnOps?: number;
  /** Whether a lease exists; by default the store's own lease table decides (tests may accept any id). */
  readonly leaseExists?: LeaseLookup;
}

/** A snapshot restored: the store and the raft index the snapshot was taken at. */
export interface RestoredStore {
  readonly store: MvccStore;
  readonly appliedIndex: number;
}

/** The multi-version key-value store: etcd's v3 data model, deterministic and in memory. */
export class MvccStore {
  private readonly ctx: ApplyContext;

  constructor(
    options: MvccStoreOptions = {},
    private readonly state: KvState = new KvState(),
  ) {
    this.ctx = {
      maxTxnOps: options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS,
      leaseExists: options.leaseExists ?? ((id) => this.state.leaseTable.has(id)),
    };
  }

  /** Rebuilds a store from what storage/ persisted (see persistence.ts). */
  static load(persisted: LoadedMvcc, options: MvccStoreOptions = {}): MvccStore {
    return new MvccStore(options, loadState(persisted));
  }

  /** load in steps: yields between parts of the work (see KvState.loadRecordsInSteps), returns the store. */
  static *loadInSteps(persisted: LoadedMvcc, options: MvccStoreOptions = {}): Generator<void, MvccStore> {
    return new MvccStore(options, yield* loadStateInSteps(persisted));
  }

  /** Rebuilds a store from snapshot() bytes; throws CORRUPT for damaged ones. */
  static restore(snapshot: Uint8Array, options: MvccStoreOptions = {}): RestoredStore {
    const decoded = decodeSnapshot(snapshot);
    return { store: MvccStore.load(decoded, options), appliedIndex: decoded.appliedIndex };
  }

  /** The revision of the latest write (1 for an empty store). */
  get currentRevision(): number {
    return this.state.currentRevision;
  }

  /** The latest compaction revision (0 if never compacted); reads below it answer COMPACTED. */
  get compactedRevision(): number {
    return this.state.compactedRevision;
  }

  /** The number of stored records (versions and tombstones): a measure of history memory. */
  get recordCount(): number {
    return this.state.recordCount;
  }

  /** The number of keys in the index, including deleted ones whose history is not yet compacted. */
  get indexedKeyCount(): number {
    return this.state.indexedKeyCount;
  }

  /** Applies one command in log order (see apply.ts); keys and values are copied into binary strings. */
  apply<C extends Command>(command: C): ApplyResult<ResponseOf<C>> {
    return applyCommand(this.state, command, this.ctx);
  }

  /** Reads a range at the current or an older revision. */
  range(req: RangeRequest): RangeResponse {
    const err = validateRange(req);
    if (err !== undefined) throw err;
    const view = this.view();
    const code = rangeRevisionError(view, req.revision ?? 0);
    if (code !== undefined) throw mvccError(code);
    return executeRange(view, req);
  }

  /**
   * Runs a Txn whose ops are all ranges without going through the log (for serializable
   * Txns, as etcd serves them locally). A Txn with any other op is refused: it must be applied.
   */
  readTxn(req: TxnRequest): TxnResponse {
    const err = validateTxn(req, this.ctx.maxTxnOps);
    if (err !== undefined) throw err;
    const onlyRanges = [...(req.success ?? []), ...(req.failure ?? [])].every((op) => 'requestRange' in op);
    if (!onlyRanges) throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'readTxn takes only range operations');
    const txn = new WriteTxn(this.state);
    const path = choosePath(txn, req);
    const checkErr = checkPath(txn, req, path, this.ctx.leaseExists);
    if (checkErr !== undefined) throw checkErr;
    const response = executeTxn(txn, req, path, false);
    txn.finish();
    return response;
  }

  /**
   * Hash of the contents up to revision (0 or less: the current one), for consistency checks.
   * Refuses revisions above the current one and below the compaction revision.
   */
  hashKV(revision = 0): HashKVResult {
    const code = rangeRevisionError(this.view(), revision);
    if (code !== undefined) throw mvccError(code);
    return hashRecords(this.state, revision > 0 ? revision : this.state.currentRevision);
  }

  /** The live keys attached to a lease, in key order (for lease revocation). */
  keysOfLease(leaseId: number): Uint8Array[] {
    return this.state.keysOfLease(leaseId).map(bytesOf);
  }

  /** Stored records with fromRevision <= main <= toRevision, in revision order (history replay). */
  records(fromRevision = 0, toRevision = Number.MAX_SAFE_INTEGER): Iterable<RevisionRecord> {
    return this.state.recordsBetween(fromRevision, toRevision);
  }

  /**
   * The version of one key the store held at revision (undefined if it did not exist or that
   * version was compacted away): the watch hub's prevKv for replayed events.
   */
  versionAt(key: BinaryString, revision: number): KeyValue | undefined {
    const record = this.state.at(key, revision);
    return record === undefined ? undefined : kvOf(record);
  }

  /** The current revisions, as persisted beside the records. */
  meta(): MvccMeta {
    return { currentRevision: this.state.currentRevision, compactedRevision: this.state.compactedRevision };
  }

  /** Everything storage/ needs to rewrite the store from scratch (after a snapshot is installed). */
  persisted(): PersistedMvcc {
    return { meta: this.meta(), records: this.records(), leases: this.state.leaseTable.all() };
  }

  /** A lease, if it exists. */
  lease(id: number): LeaseRecord | undefined {
    return this.state.leaseTable.get(id);
  }

  /** Every lease, in id order. */
  leases(): LeaseRecord[] {
    return this.state.leaseTable.all();
  }

  /**
   * The whole store, with the raft index it reflects, as a raft snapshot's data: the state
   * of now, made into bytes only as they are read (writes applied meanwhile are not in it).
   */
  snapshot(appliedIndex: number, pieceBytes = SNAPSHOT_PIECE_BYTES): LazyBytes {
    const history = this.state.frozenHistory();
    return encodeSnapshot(
      {
        appliedIndex,
        meta: this.meta(),
        records: history.records,
        recordCount: history.recordCount,
        recordBytes: history.recordBytes,
        leases: this.state.leaseTable.all(),
      },
      pieceBytes,
    );
  }

  private view(): ReadView {
    return { state: this.state, revision: this.state.currentRevision };
  }
}
