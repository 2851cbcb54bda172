/**
 * The mvcc store as the node's replicated state machine: decodes the mvcc command of each
 * applied entry, applies it, and gathers the persistence records of every apply so the
 * node writes them in the same synced batch as the applied index.
 */
import { AuthStore } from '../auth/auth-store.js';
import { type AuthCommand, decodeAuthCommand } from '../auth/commands.js';
import { assert } from '../common/assert.js';
import { CairnError, ErrorCode } from '../common/errors.js';
import { concatBytes, type LazyBytes } from '../common/lazy-bytes.js';
import {
  type ApplyResult,
  type Command,
  type CommandResponse,
  decodeCommand,
  decodeMeta,
  decodeRecord,
  decodeRevisionRows,
  encodeMeta,
  encodeRecordKey,
  encodeRevisionValue,
  type LeaseRecord,
  LoadedRows,
  MvccChangeBuffer,
  type MvccChanges,
  type MvccEvent,
  MvccStore,
  type PersistedMvcc,
  RECORD_KEY_BYTES,
  type RecordRef,
  type Revision,
  type RevisionRecord,
  type RevisionWrite,
  recordOfRef,
  revisionsOf,
  SlabWriter,
  type StoredValues,
  storedValueKeys,
  valuesToStore,
} from '../mvcc/index.js';
import type { RecoveredState, StateMachineOps, StateMachineValues } from '../storage/level-storage.js';
import {
  type AlarmChanges,
  type AlarmMember,
  AlarmSet,
  AlarmType,
  alarmKey,
  alarmOfKey,
  alarmTrailer,
  commandGrowsData,
  decodeAlarmRequest,
  noSpaceError,
  splitAlarmTrailer,
} from './alarms.js';
import { AUTH_STATE_KEY, authTrailer, isAuthStateKey, splitAuthTrailer } from './auth-state.js';
import { commandAccess, decodeCommandAs, userPermitted } from './command-access.js';
import { EntryKind, type Envelope } from './envelope.js';
import { LEGACY_RECORDS_PER_WRITE, LegacyRecords } from './legacy-records.js';
import {
  decodeMemberAttributes,
  encodeMemberAttributes,
  type MemberAttributes,
} from './member-attributes.js';
import type { ApplyPosition, StateMachine } from './ports.js';

/** What one applied entry produced for its proposer. */
export type KvResult = ApplyResult<CommandResponse> & { readonly index: number };

/** What storage must write for the state machine: either incremental changes or, after a snapshot was installed, everything. */
export interface KvWrites {
  /** Replace all state-machine data with this (a snapshot from the leader was installed). */
  readonly replaceWith?: PersistedMvcc;
  /** Then apply these changes (revisions written or compacted, meta). */
  readonly changes?: MvccChanges;
  /**
   * Old-style record keys (data format 2, one record per key) to delete, as `changes` holds
   * their revisions in today's form (see legacy-records.ts).
   */
  readonly legacyKeys?: readonly Revision[];
  /** Members' attributes published (or, with replaceWith, all of them). */
  readonly members?: readonly MemberAttributes[];
  /** Alarms raised and cleared (with replaceWith: every active alarm, as activated). */
  readonly alarms?: AlarmChanges;
  /** The whole auth state, when it changed (or with replaceWith). */
  readonly auth?: Uint8Array;
}

/** Who hears about applied auth changes (the member's token table and the gates on open streams); must not throw. */
export interface AuthApplyListener {
  /** An auth command was applied (ok or refused). */
  applied(command: AuthCommand, ok: boolean): void;
  /** The auth state was replaced by a snapshot's. */
  restored(): void;
}

/** Told of every lease granted or revoked by an applied entry (the leader's lease clock listens). */
export interface LeaseListener {
  onGranted(lease: LeaseRecord): void;
  onRevoked(id: number): void;
}

/** Who hears about applied revisions (the watch hub); called synchronously, must not throw. */
export interface KvApplyListener {
  /** A write produced events at revision (the store is already there). */
  applied(revision: number, events: readonly MvccEvent[]): void;
  /** The store was replaced by a snapshot's. */
  restored(store: MvccStore): void;
}

/** Applies mvcc commands from the log; deterministic, as every member must reach the same state. */
export class KvStateMachine implements StateMachine<KvResult> {
  /** Told of every applied revision and every restore (the watch hub); optional. */
  applyListener: KvApplyListener | undefined;
  private kv: MvccStore;
  private buffer = new MvccChangeBuffer();
  private replaceWith: PersistedMvcc | undefined;
  private readonly memberAttributes = new Map<number, MemberAttributes>();
  private publishedSinceTake: MemberAttributes[] = [];
  private readonly alarmSet: AlarmSet;
  /** Invariant: the index of the last entry whose effects are in `kv`. */
  appliedIndex: number;
  /** Told of lease grants and revokes as they are applied. */
  leaseListener: LeaseListener | undefined;
  /** Told of every applied auth command and every restore; optional. */
  authListener: AuthApplyListener | undefined;
  /** The replicated users, roles and enabled flag. */
  readonly auth: AuthStore;
  /** Whether the auth state changed since the last takeWrites. */
  private authChanged = false;
  /** Records stored one per key by an older version, converted a chunk per write (see convertLegacyRecords). */
  private legacy: LegacyRecords | undefined;

  constructor(
    store: MvccStore,
    appliedIndex: number,
    members: readonly MemberAttributes[] = [],
    alarms: readonly AlarmMember[] = [],
    auth: AuthStore = new AuthStore(),
  ) {
    this.auth = auth;
    this.alarmSet = new AlarmSet(alarms);
    this.kv = store;
    this.appliedIndex = appliedIndex;
    for (const m of members) this.memberAttributes.set(m.id, m);
  }

  /**
   * Takes in the state recovered from disk (another KvStateMachine, just loaded): its store,
   * members' attributes, alarms, auth state and old-style records still to convert. For a
   * member that started raft before its load finished (RaftNodeOptions.startLoading): this
   * state machine was made empty at the same applied index, and nothing was applied to it.
   */
  takeLoaded(loaded: KvStateMachine): void {
    assert(loaded.appliedIndex === this.appliedIndex, 'a loaded state taken in at another applied index');
    assert(this.kv.currentRevision === 1, 'a loaded state taken in after a write');
    this.legacy = loaded.legacy;
    this.replaceState(
      loaded.kv,
      loaded.memberAttributes.values(),
      loaded.alarmSet.list(),
      loaded.auth.serialize(),
    );
  }

  /**
   * Has the next writes store the revisions of records that an older version kept one per
   * key (their positions, in revision order) in today's form, a value per revision, and
   * delete the old keys: a bounded chunk with each write (LEGACY_RECORDS_PER_WRITE), so the
   * folder is converted without one batch the size of the store.
   */
  convertLegacyRecords(records: readonly Revision[]): void {
    this.legacy = records.length > 0 ? new LegacyRecords(records) : undefined;
  }

  /** Old-style records not converted yet (see convertLegacyRecords). */
  get legacyRecordsLeft(): number {
    return this.legacy?.remaining ?? 0;
  }

  /** The attributes members have published, by member id. */
  get members(): ReadonlyMap<number, MemberAttributes> {
    return this.memberAttributes;
  }

  /** The active alarms (replicated state). */
  get alarms(): AlarmSet {
    return this.alarmSet;
  }

  /** Everything the state machine holds, in the form it is persisted (for the Maintenance Hash). */
  contents(): KvWrites {
    const alarms = { activated: this.alarmSet.list(), deactivated: [] };
    return {
      replaceWith: this.kv.persisted(),
      members: [...this.memberAttributes.values()],
      alarms,
      auth: this.auth.serialize(),
    };
  }

  /** The store, for reads (ranges are served locally after a ReadIndex barrier). */
  get store(): MvccStore {
    return this.kv;
  }

  /** @inheritdoc */
  apply(pos: ApplyPosition, env: Envelope): KvResult {
    this.appliedIndex = pos.index;
    if (env.kind === EntryKind.MemberAttributes) {
      const attrs = decodeMemberAttributes(env.payload);
      if (!attrs) return this.refused(pos.index, 'malformed member attributes');
      this.memberAttributes.set(attrs.id, attrs);
      this.publishedSinceTake.push(attrs);
      const meta = this.kv.meta();
      return {
        ok: true,
        response: { header: { revision: meta.currentRevision } },
        events: [],
        changes: { revisions: [], meta },
        index: pos.index,
      } as unknown as KvResult;
    }
    if (env.kind === EntryKind.Alarm) return this.applyAlarm(pos.index, env.payload);
    if (env.kind === EntryKind.Auth) return this.applyAuth(pos.index, env.payload);
    if (env.kind !== EntryKind.Mvcc && env.kind !== EntryKind.MvccAs) {
      return this.refused(pos.index, `entry kind ${env.kind} has no effect on the key-value store`);
    }
    let payload = env.payload;
    let user: string | undefined;
    if (env.kind === EntryKind.MvccAs) {
      const as = decodeCommandAs(env.payload);
      if (!as) return this.refused(pos.index, 'malformed command envelope');
      payload = as.command;
      user = as.user;
    }
    let command: Command;
    try {
      command = decodeCommand(payload);
    } catch (err) {
      // Every member decodes the same bytes, so every member refuses the same way.
      return this.refused(pos.index, `undecodable command: ${(err as Error).message}`);
    }
    // Checked again at apply, against the auth state every member holds at this entry: a
    // permission revoked after the proposing member checked it is not used.
    if (
      user !== undefined &&
      !userPermitted(
        this.auth,
        user,
        commandAccess(command, (id) => this.kv.keysOfLease(id)),
      )
    )
      return this.refused(pos.index, '', new CairnError(ErrorCode.PERMISSION_DENIED, 'permission denied'));
    if (commandGrowsData(command) && this.alarmSet.has(AlarmType.NOSPACE))
      return this.refused(pos.index, '', noSpaceError());
    const result = this.kv.apply(command) as ApplyResult<CommandResponse>;
    this.buffer.add(result.changes);
    if (result.ok && this.leaseListener) {
      for (const lease of result.changes.leasesGranted ?? []) this.leaseListener.onGranted(lease);
      for (const id of result.changes.leasesRevoked ?? []) this.leaseListener.onRevoked(id);
    }
    this.notifyApplied(result);
    return { ...result, index: pos.index };
  }

  /** Hands the events of an apply to the listener (every apply path that writes the store calls this). */
  private notifyApplied(result: ApplyResult<unknown>): void {
    if (result.ok && result.events.length > 0)
      this.applyListener?.applied(this.kv.currentRevision, result.events);
  }

  /** An alarm entry: the response carries the alarms concerned (AlarmResponse.alarms). */
  private applyAlarm(index: number, payload: Uint8Array): KvResult {
    const req = decodeAlarmRequest(payload);
    if (!req) return this.refused(index, 'malformed alarm request');
    const alarms = this.alarmSet.apply(req);
    const meta = this.kv.meta();
    return {
      ok: true,
      response: { header: { revision: meta.currentRevision }, alarms },
      events: [],
      changes: { revisions: [], meta },
      index,
    } as unknown as KvResult;
  }

  /** An auth entry: the response carries the auth revision after it (AuthStatus-style). */
  private applyAuth(index: number, payload: Uint8Array): KvResult {
    let command: AuthCommand;
    try {
      command = decodeAuthCommand(payload);
    } catch (err) {
      return this.refused(index, '', err as CairnError);
    }
    const r = this.auth.apply(command);
    if (r.ok) this.authChanged = true;
    this.authListener?.applied(command, r.ok);
    if (!r.ok) return this.refused(index, '', r.error);
    const meta = this.kv.meta();
    return {
      ok: true,
      response: { header: { revision: meta.currentRevision }, authRevision: r.revision },
      events: [],
      changes: { revisions: [], meta },
      index,
    } as unknown as KvResult;
  }

  private refused(index: number, message: string, error?: CairnError): KvResult {
    const changes: MvccChanges = { revisions: [], meta: this.kv.meta() };
    return {
      ok: false,
      error: error ?? new CairnError(ErrorCode.INVALID_ARGUMENT, message),
      events: [],
      changes,
      index,
    };
  }

  /** @inheritdoc */
  skip(pos: ApplyPosition): void {
    this.appliedIndex = pos.index;
  }

  /**
   * Adds the next chunk of old-style records to a write: their revisions' values, as the
   * store holds them now, and their old keys to delete. A write that touches a revision still
   * in the old form (compaction does) converts every revision up to it in the same batch, so
   * no revision is ever stored in both forms.
   */
  private withLegacyChunk(changes: MvccChanges | undefined): {
    changes: MvccChanges | undefined;
    legacyKeys: readonly Revision[];
  } {
    const legacy = this.legacy;
    if (legacy === undefined) return { changes, legacyKeys: [] };
    const lastMain = legacy.lastMain;
    let through = 0;
    for (const r of changes?.revisions ?? []) if (r.main <= lastMain && r.main > through) through = r.main;
    const chunk = legacy.take(LEGACY_RECORDS_PER_WRITE, through);
    if (legacy.remaining === 0) this.legacy = undefined;
    if (chunk === undefined) return { changes, legacyKeys: [] };
    const outside = (r: RevisionWrite): boolean => r.main < chunk.fromMain || r.main > chunk.toMain;
    const revisions = [
      ...(changes?.revisions.filter(outside) ?? []),
      ...revisionsOf(this.kv.records(chunk.fromMain, chunk.toMain)),
    ];
    return {
      changes: { ...changes, revisions, meta: changes?.meta ?? this.kv.meta() },
      legacyKeys: chunk.keys,
    };
  }

  /** @inheritdoc */
  takeWrites(): KvWrites | undefined {
    const { changes, legacyKeys } = this.withLegacyChunk(this.buffer.take());
    const replaceWith = this.replaceWith;
    const members = replaceWith ? [...this.memberAttributes.values()] : this.publishedSinceTake;
    const alarmChanges = this.alarmSet.takeChanges();
    const alarms = replaceWith ? { activated: this.alarmSet.list(), deactivated: [] } : alarmChanges;
    const auth = replaceWith || this.authChanged ? this.auth.serialize() : undefined;
    this.authChanged = false;
    this.replaceWith = undefined;
    this.publishedSinceTake = [];
    if (!changes && !replaceWith && members.length === 0 && !alarms && !auth) return undefined;
    return {
      ...(auth ? { auth } : {}),
      ...(replaceWith ? { replaceWith } : {}),
      ...(changes ? { changes } : {}),
      ...(legacyKeys.length > 0 ? { legacyKeys } : {}),
      ...(members.length > 0 ? { members } : {}),
      ...(alarms ? { alarms } : {}),
    };
  }

  /** @inheritdoc */
  /** Layout: u32 length of the mvcc snapshot, the mvcc snapshot, the members' attributes as JSON, then the alarm and auth trailers. */
  snapshot(): LazyBytes {
    const mvcc = this.kv.snapshot(this.appliedIndex);
    if (mvcc.byteLength >= 2 ** 32)
      throw new CairnError(
        ErrorCode.TOO_LARGE,
        `a snapshot of ${mvcc.byteLength} bytes exceeds its 4 GiB layout`,
      );
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, mvcc.byteLength);
    const members = new TextEncoder().encode(JSON.stringify([...this.memberAttributes.values()]));
    return concatBytes(
      length,
      mvcc,
      members,
      alarmTrailer(this.alarmSet.list()),
      authTrailer(this.auth.serialize()),
    );
  }

  /** @inheritdoc */
  restore(index: number, snapshotData: Uint8Array): void {
    this.install(snapshotData, index);
  }

  /** Restores a snapshot at the raft index it was taken at (read from its data), for seeding a new cluster from a saved file; returns that index. */
  restoreAsTaken(snapshotData: Uint8Array): number {
    return this.install(snapshotData, undefined);
  }

  /**
   * Forgets the attributes members published and the alarms they raised: a cluster seeded
   * from another cluster's snapshot has new members, and none of the old ones may linger.
   */
  forgetMembers(): void {
    this.memberAttributes.clear();
    this.publishedSinceTake = [];
    this.alarmSet.replace([]);
  }

  /** Replaces the state with a snapshot's; with an expected index, refuses a snapshot taken at another. */
  private install(snapshotData: Uint8Array, expectedIndex: number | undefined): number {
    const at = expectedIndex ?? 'unknown';
    const { body: withAlarms, auth } = splitAuthTrailer(snapshotData);
    const { body: data, alarms } = splitAlarmTrailer(withAlarms);
    if (data.byteLength < 4)
      throw new CairnError(ErrorCode.CORRUPT, `snapshot at raft index ${at} is truncated`);
    const mvccBytes = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    if (4 + mvccBytes > data.byteLength)
      throw new CairnError(ErrorCode.CORRUPT, `snapshot at raft index ${at} is truncated`);
    const restored = MvccStore.restore(data.subarray(4, 4 + mvccBytes));
    const members = JSON.parse(new TextDecoder().decode(data.subarray(4 + mvccBytes))) as MemberAttributes[];
    const index = expectedIndex ?? restored.appliedIndex;
    if (restored.appliedIndex !== index) {
      throw new CairnError(
        ErrorCode.CORRUPT,
        `snapshot at raft index ${index} holds state applied up to ${restored.appliedIndex}`,
      );
    }
    this.appliedIndex = index;
    this.buffer = new MvccChangeBuffer();
    // Writing replaceWith clears every key first, old-style records included.
    this.legacy = undefined;
    this.replaceWith = restored.store.persisted();
    this.replaceState(restored.store, members, alarms, auth ?? new AuthStore().serialize());
    return index;
  }

  /** Replaces the store, the members' attributes, the alarms and the auth state, and tells the listeners. */
  private replaceState(
    store: MvccStore,
    members: Iterable<MemberAttributes>,
    alarms: readonly AlarmMember[],
    auth: Uint8Array,
  ): void {
    this.kv = store;
    this.memberAttributes.clear();
    for (const m of members) this.memberAttributes.set(m.id, m);
    this.applyListener?.restored(store);
    this.alarmSet.replace(alarms);
    this.auth.replace(auth);
    this.authListener?.restored();
  }
}

/**
 * The state machine's key for the mvcc meta record. Older versions stored each record under
 * its 12-byte record key (encodeRecordKey, first byte 0), so no key of another length collides.
 */
const META_KEY = new Uint8Array([0]);
/** Members' attributes live under [1, member id (8 bytes)]: 9 bytes, no collision either. */
const MEMBER_KEY_PREFIX = 1;
/** Leases live under [2, lease id (8 bytes)] with the granted TTL (8 bytes) as value. */
const LEASE_KEY_PREFIX = 2;
/**
 * Each revision's records live under [6, main revision (8 bytes)] (encodeRevisionValue); big-endian,
 * so LevelDB's order is revision order. 3, 4 and 5 are the alarms', the registry's and auth's.
 */
const REVISION_KEY_PREFIX = 6;

function idKey(prefix: number, id: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = prefix;
  writeU53(new DataView(k.buffer), 1, id);
  return k;
}

function writeU53(v: DataView, offset: number, n: number): void {
  v.setUint32(offset, Math.floor(n / 2 ** 32));
  v.setUint32(offset + 4, n % 2 ** 32);
}

function readU53(bytes: Uint8Array, offset: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return v.getUint32(offset) * 2 ** 32 + v.getUint32(offset + 4);
}

function memberKey(id: number): Uint8Array {
  return idKey(MEMBER_KEY_PREFIX, id);
}

function leaseOps(lease: LeaseRecord): [Uint8Array, Uint8Array] {
  const value = new Uint8Array(8);
  writeU53(new DataView(value.buffer), 0, lease.ttlSeconds);
  return [idKey(LEASE_KEY_PREFIX, lease.id), value];
}

/** The storage operations of the key-value store's writes. */
interface KvOps {
  readonly puts: [Uint8Array, Uint8Array][];
  readonly dels: Uint8Array[];
  readonly valuePuts: [Uint8Array, Uint8Array][];
  readonly valueDels: Uint8Array[];
}

/**
 * The writes of one revision: its records (or the deletion of its key when none is left) and
 * their values, each under its record key (with `all`, every value, else those held in memory
 * only: the others are stored already), and the deletion of the values compaction dropped.
 */
function addRevisionOps(ops: KvOps, revision: RevisionWrite, all: boolean): void {
  const key = idKey(REVISION_KEY_PREFIX, revision.main);
  if (revision.records.length > 0) ops.puts.push([key, encodeRevisionValue(revision.records)]);
  else ops.dels.push(key);
  for (const value of valuesToStore(revision.records, all)) ops.valuePuts.push(value);
  if (revision.droppedValues !== undefined)
    ops.valueDels.push(...storedValueKeys(revision.main, revision.droppedValues));
}

function addChangeOps(ops: KvOps, c: MvccChanges): void {
  for (const revision of c.revisions) addRevisionOps(ops, revision, false);
  ops.puts.push([META_KEY, encodeMeta(c.meta)]);
  for (const lease of c.leasesGranted ?? []) ops.puts.push(leaseOps(lease));
  for (const id of c.leasesRevoked ?? []) ops.dels.push(idKey(LEASE_KEY_PREFIX, id));
}

/** Turns the KvStateMachine's writes into storage operations (the composition root hands this to storage). */
export function kvWritesToOps(writes: unknown): StateMachineOps {
  const w = writes as KvWrites;
  const ops: KvOps = { puts: [], dels: [], valuePuts: [], valueDels: [] };
  if (w.replaceWith) {
    // Every key and value is cleared first: the values read from storage are written again.
    for (const revision of revisionsOf(w.replaceWith.records)) addRevisionOps(ops, revision, true);
    ops.puts.push([META_KEY, encodeMeta(w.replaceWith.meta)]);
    for (const lease of w.replaceWith.leases ?? []) ops.puts.push(leaseOps(lease));
  }
  // replaceWith's records are the store's as it is now (read here), so changes applied after
  // the restore and written with it delete nothing it puts.
  if (w.changes) addChangeOps(ops, w.changes);
  const { puts, dels } = ops;
  for (const r of w.legacyKeys ?? []) dels.push(encodeRecordKey(r));
  for (const m of w.members ?? []) puts.push([memberKey(m.id), encodeMemberAttributes(m)]);
  for (const a of w.alarms?.activated ?? []) puts.push([alarmKey(a), new Uint8Array(0)]);
  for (const a of w.alarms?.deactivated ?? []) dels.push(alarmKey(a));
  if (w.auth) puts.push([AUTH_STATE_KEY, w.auth]);
  return { clearFirst: w.replaceWith !== undefined, ...ops };
}

/** The key-value store's view of the state machine's stored values: each under its record key. */
function storedValuesOf(values: StateMachineValues): StoredValues {
  const read = (from: (key: Uint8Array) => Uint8Array | undefined, main: number, sub: number): Uint8Array => {
    const value = from(encodeRecordKey({ main, sub }));
    if (value === undefined)
      throw new CairnError(ErrorCode.CORRUPT, `the stored value of revision (${main}, ${sub}) is missing`);
    return value;
  };
  return {
    read: (main, sub) => read(values.read, main, sub),
    pin() {
      const pinned = values.pin();
      return { read: (main, sub) => read(pinned.read, main, sub), release: () => pinned.release() };
    },
  };
}

/** Rebuilds the key-value state machine from what storage recovered at start-up. */
export async function recoverKvStateMachine(recovered: RecoveredState): Promise<KvStateMachine> {
  let meta: PersistedMvcc['meta'] | undefined;
  /** The records of revision values: rows of `rows` (format 2), records with slabbed values (format 1). */
  const records: RecordRef[] = [];
  /** Records in the form of data format 2: one per key (all of them sort before the revision values). */
  const legacy: RevisionRecord[] = [];
  const members: MemberAttributes[] = [];
  const leases: LeaseRecord[] = [];
  const alarms: AlarmMember[] = [];
  const auth = new AuthStore();
  const slabs = new SlabWriter();
  const values = recovered.values === undefined ? undefined : storedValuesOf(recovered.values);
  const rows = new LoadedRows(values);
  for await (const batch of recovered.stateMachine)
    for (const [key, value] of batch) {
      if (isAuthStateKey(key)) {
        auth.replace(value);
        continue;
      }
      const alarm = alarmOfKey(key);
      if (alarm) {
        alarms.push(alarm);
        continue;
      }
      if (key.byteLength === META_KEY.byteLength && key[0] === META_KEY[0]) meta = decodeMeta(value);
      else if (key.byteLength === 9 && key[0] === MEMBER_KEY_PREFIX) {
        const m = decodeMemberAttributes(value);
        if (m) members.push(m);
      } else if (key.byteLength === 9 && key[0] === LEASE_KEY_PREFIX) {
        leases.push({ id: readU53(key, 1), ttlSeconds: readU53(value, 0) });
      } else if (key.byteLength === 9 && key[0] === REVISION_KEY_PREFIX) {
        decodeRevisionRows(readU53(key, 1), value, rows, records, slabs);
      } else if (key.byteLength === RECORD_KEY_BYTES) {
        legacy.push(decodeRecord(key, value));
      } else throw new CairnError(ErrorCode.CORRUPT, `unknown state-machine key of ${key.byteLength} bytes`);
    }
  // Old-style records are rare enough (a folder partly converted) to merge as objects.
  const all =
    legacy.length === 0
      ? records
      : mergeByRevision(
          legacy,
          records.map((r) => recordOfRef(r, rows)),
        );
  // In steps, the event loop turning between them: raft may run while the store loads (a
  // member votes and replicates meanwhile), and at a million keys the index takes a second.
  let store = new MvccStore();
  if (meta) {
    // Merged with old-style records, every row became a record: the table is not kept.
    const loaded = legacy.length === 0 ? { records: all, rows } : { records: all };
    const steps = MvccStore.loadInSteps({ meta, ...loaded, leases, ...(values ? { values } : {}) });
    let step = steps.next();
    while (!step.done) {
      await new Promise((resolve) => setImmediate(resolve));
      step = steps.next();
    }
    store = step.value;
  }
  const sm = new KvStateMachine(store, recovered.appliedIndex, members, alarms, auth);
  sm.convertLegacyRecords(legacy);
  return sm;
}

/**
 * Two lists of records in revision order as one. A folder partly converted (legacy-records.ts)
 * holds old-style records between revision values older and newer than them.
 */
function mergeByRevision(a: readonly RevisionRecord[], b: readonly RevisionRecord[]): RevisionRecord[] {
  const out: RevisionRecord[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    // A revision is in one form or the other: the same main in both lists is damage.
    if (x.main === y.main)
      throw new CairnError(ErrorCode.CORRUPT, `revision ${x.main} is stored in both forms`);
    if (x.main < y.main) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
