/**
 * What storage/ persists of the store and how the store is rebuilt from it. Each apply
 * reports its changes (MvccChanges); the node writes them in the same LevelDB batch as the
 * applied index, so the data on disk and the applied index always agree. At start-up,
 * loadState rebuilds the in-memory store from the meta value and the records, in revision order
 * (the order of their LevelDB keys).
 */
import { assert } from '../common/assert.js';
import type { LeaseRecord } from './lease-table.js';
import { type LoadedRows, mainOfRef, type RecordRef } from './loaded-rows.js';
import { KvState, runSteps } from './state.js';
import type { StoredValues } from './stored-values.js';
import type { RevisionRecord } from './types.js';

/** The store's two revisions, persisted beside the records. */
export interface MvccMeta {
  readonly currentRevision: number;
  readonly compactedRevision: number;
}

/**
 * What one revision holds after a change: its records in sub order, all of them (an apply
 * writes a revision whole, in one go; compaction leaves what it did not drop). None when
 * compaction dropped the revision entirely.
 */
export interface RevisionWrite {
  readonly main: number;
  readonly records: readonly RevisionRecord[];
  /** Subs of the PUTs with a value that compaction dropped: delete their stored values. */
  readonly droppedValues?: readonly number[];
}

/**
 * What one apply (or several, merged) changed. For LevelDB: for each revision, put
 * encodeRevisionValue(records) under the revision's key, or delete that key when it holds no
 * records, put valuesToStore(records) and delete storedValueKeys(droppedValues); then put the
 * meta value (encodeMeta); all in the batch that stores the applied index. One LevelDB value
 * per revision, not per record: a Txn of 128 puts is one value, so a store loaded in Txns is
 * read back at start-up in 128 times fewer LevelDB entries (its values are not read then).
 */
export interface MvccChanges {
  /** Every revision written or compacted, at most once each, with what it holds now. */
  readonly revisions: readonly RevisionWrite[];
  readonly meta: MvccMeta;
  /** Leases created (put encodeLeaseKey -> encodeLeaseValue). */
  readonly leasesGranted?: readonly LeaseRecord[];
  /** Leases removed, by id (del encodeLeaseKey). A batch never grants and revokes the same id. */
  readonly leasesRevoked?: readonly number[];
}

/** Groups records in revision order into the revisions that hold them, in order. */
export function* revisionsOf(records: Iterable<RevisionRecord>): Generator<RevisionWrite> {
  let main = -1;
  let group: RevisionRecord[] = [];
  for (const record of records) {
    if (record.main !== main) {
      assert(record.main > main, () => `record ${record.main} after ${main}`);
      if (group.length > 0) yield { main, records: group };
      main = record.main;
      group = [];
    }
    group.push(record);
  }
  if (group.length > 0) yield { main, records: group };
}

/** Everything storage/ holds for the store: the meta value and every record, in revision order. */
export interface PersistedMvcc {
  readonly meta: MvccMeta;
  readonly records: Iterable<RevisionRecord>;
  /** The leases that exist; none when absent. */
  readonly leases?: Iterable<LeaseRecord>;
  /** Where the values of records loaded without them are read (stored-values.ts). */
  readonly values?: StoredValues;
}

/**
 * What a load reads: the persisted store, whose records may be rows of `rows` (a load from
 * storage: loaded-rows.ts) as well as records.
 */
export interface LoadedMvcc extends Omit<PersistedMvcc, 'records'> {
  readonly records: Iterable<RecordRef>;
  /** The table the records' row numbers index; none when every record is an object. */
  readonly rows?: LoadedRows;
}

/** What a batch's changes did to one revision: what it holds after the latest, and every stored value dropped. */
interface RevisionChange {
  records: readonly RevisionRecord[];
  dropped: number[] | undefined;
}

/** Collects the changes of several applies into one batch (one Ready's worth). */
export class MvccChangeBuffer {
  /** main -> what the revision holds after the latest change to it in this batch, and the values dropped. */
  private revisions = new Map<number, RevisionChange>();
  private meta: MvccMeta | undefined;
  /** The last thing that happened to each lease in this batch: granted (its record) or revoked (null). */
  private leases = new Map<number, LeaseRecord | null>();

  /** Adds one apply's changes, in apply order. */
  add(changes: MvccChanges): void {
    for (const r of changes.revisions) {
      const change = this.revisions.get(r.main);
      if (change === undefined) {
        this.revisions.set(r.main, { records: r.records, dropped: r.droppedValues?.slice() });
        continue;
      }
      change.records = r.records;
      if (r.droppedValues === undefined) continue;
      if (change.dropped === undefined) change.dropped = [];
      change.dropped.push(...r.droppedValues);
    }
    for (const l of changes.leasesGranted ?? []) this.leases.set(l.id, l);
    for (const id of changes.leasesRevoked ?? []) this.leases.set(id, null);
    this.meta = changes.meta;
  }

  /** The merged changes since the last take, or undefined if nothing was added. */
  take(): MvccChanges | undefined {
    if (this.meta === undefined) return undefined;
    const leasesGranted: LeaseRecord[] = [];
    const leasesRevoked: number[] = [];
    for (const [id, record] of this.leases) {
      if (record === null) leasesRevoked.push(id);
      else leasesGranted.push(record);
    }
    const revisions: RevisionWrite[] = [];
    for (const [main, { records, dropped }] of this.revisions)
      revisions.push(dropped === undefined ? { main, records } : { main, records, droppedValues: dropped });
    const out: MvccChanges = {
      revisions,
      meta: this.meta,
      ...(leasesGranted.length > 0 ? { leasesGranted } : {}),
      ...(leasesRevoked.length > 0 ? { leasesRevoked } : {}),
    };
    this.leases = new Map();
    this.revisions = new Map();
    this.meta = undefined;
    return out;
  }
}

/**
 * Rebuilds the store's state from persisted records (from LevelDB or a snapshot). Checks
 * what it can: records in order, the current revision not below any record, a compacted
 * revision not above the current one.
 */
export function loadState(persisted: LoadedMvcc): KvState {
  return runSteps(loadStateInSteps(persisted));
}

/** loadState in steps (see KvState.loadRecordsInSteps), for a caller that lets its event loop turn between them. */
export function* loadStateInSteps(persisted: LoadedMvcc): Generator<void, KvState> {
  const { currentRevision, compactedRevision } = persisted.meta;
  assert(currentRevision >= 1, 'current revision is at least 1');
  assert(compactedRevision <= currentRevision, 'compacted revision above the current one');
  const state = new KvState(persisted.values);
  state.compactedRevision = compactedRevision;
  const records = Array.isArray(persisted.records)
    ? (persisted.records as readonly RecordRef[])
    : [...persisted.records];
  // In revision order (loadRecords checks), so the last record has the highest revision.
  const last = records.at(-1);
  const lastMain = last === undefined ? 0 : mainOfRef(last, persisted.rows);
  assert(lastMain <= currentRevision, () => `record at ${lastMain} beyond revision ${currentRevision}`);
  yield* state.loadRecordsInSteps(records, persisted.rows);
  state.currentRevision = currentRevision;
  for (const lease of persisted.leases ?? []) state.leaseTable.add(lease);
  return state;
}
