/**
 * A member's durable storage on LevelDB: the raft log, hard state, snapshot, and the state
 * machine's data with its applied index. Every write a Ready needs is one LevelDB batch
 * written with `sync: true` (classic-level then fsyncs before the write completes), so a
 * Ready's entries, hard state and the state-machine changes applied with it become durable
 * together. The log since the last snapshot is also kept in a MemoryStorage, which the raft
 * core reads synchronously.
 *
 * A snapshot is kept as its metadata only (index, term, configuration): where the log may
 * start. The state machine's data is on disk already, as its own keys written with the
 * applied index, so a copy of it as snapshot data would only cost memory, disk and the time
 * to serialize the whole store. A snapshot sent to a follower is made from the state machine
 * when it is sent (node/raft-node.ts).
 */

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { assert } from '../common/assert.js';
import { crc32 } from '../common/crc32.js';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import {
  type ConfState,
  EMPTY_CONF_STATE,
  type Entry,
  type HardState,
  MemoryStorage,
  type Snapshot,
  type SnapshotMetadata,
} from '../raft/index.js';
import {
  decodeEntry,
  decodeHardState,
  decodeSnapshotMeta,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMeta,
} from './entry-codec.js';
import { lockHeld } from './folder-lock.js';
import {
  DATA_FORMAT_VERSION,
  indexOfLogKey,
  logKey,
  Prefix,
  prefixRange,
  READABLE_FORMAT_VERSIONS,
  singleKey,
  stateMachineKey,
} from './layout.js';
import { openRecord, sealRecord } from './record-codec.js';
import { checkTables } from './table-check.js';

/** What a state machine asks storage to write: its own keys, optionally replacing all it had. */
export interface StateMachineOps {
  /** Delete every state-machine key and value first (a snapshot from the leader replaces the state). */
  readonly clearFirst: boolean;
  readonly puts: readonly (readonly [Uint8Array, Uint8Array])[];
  readonly dels: readonly Uint8Array[];
  /** Values to keep under keys of their own, which start-up does not read (StateMachineValues reads them). */
  readonly valuePuts?: readonly (readonly [Uint8Array, Uint8Array])[];
  readonly valueDels?: readonly Uint8Array[];
}

/** A fixed view of the state machine's values (a LevelDB snapshot), until released. */
export interface PinnedStateMachineValues {
  /** The value under key as it was when pinned, checked; undefined when absent. */
  read(key: Uint8Array): Uint8Array | undefined;
  /** Lets LevelDB forget the view (idempotent). */
  release(): void;
}

/**
 * The state machine's values (StateMachineOps.valuePuts), read one at a time and synchronously
 * (LevelDB's get on the event loop: a few microseconds from its caches, a disk read otherwise).
 */
export interface StateMachineValues {
  /** The value under key, checked; undefined when absent. Throws once storage is closed. */
  read(key: Uint8Array): Uint8Array | undefined;
  /** A view of the values as they are now, which later writes do not change. */
  pin(): PinnedStateMachineValues;
}

/** One durable write. */
export interface DurableBatch {
  readonly hardState?: HardState | undefined;
  readonly entries: readonly Entry[];
  /** A snapshot installed from the leader: its metadata is kept, its data is the state machine's writes. */
  readonly snapshot?: Pick<Snapshot, 'metadata'> | undefined;
  /** State-machine changes in whatever form the state machine produces; `toOps` turns them into StateMachineOps. */
  readonly stateMachineWrites?: unknown;
  readonly appliedIndex: number;
  /** Default true. */
  readonly sync?: boolean;
}

/** Options of a storage. */
export interface LevelStorageOptions {
  readonly logger: Logger;
  /** Turns the state machine's writes into key operations. */
  readonly toOps: (writes: unknown) => StateMachineOps;
  /** The founding configuration, used only when the folder is new. */
  readonly initialConfState?: ConfState;
  /** Test hook: runs before each synced write (a slow disk). */
  readonly beforeSync?: () => Promise<void>;
  /** Told how long each synced write took (etcd's WAL fsync duration), in seconds. */
  readonly onSyncedWrite?: (durationSeconds: number) => void;
}

/** One state-machine key and its value. */
export type StateMachineEntry = readonly [Uint8Array, Uint8Array];

/** What was on disk at start-up, for rebuilding the state machine. */
export interface RecoveredState {
  readonly appliedIndex: number;
  /**
   * The state machine's keys and values (prefix removed), in key order and in batches, each
   * checked as it is read from disk: read them once, before the first write. They are
   * streamed, not gathered, so a million records are never all in memory as byte arrays.
   */
  readonly stateMachine: AsyncIterable<readonly StateMachineEntry[]> | Iterable<readonly StateMachineEntry[]>;
  /** The state machine's values, which the scan above does not read; none when storage keeps none (tests). */
  readonly values?: StateMachineValues;
}

/** The data of every snapshot a member keeps: none (see the module comment). */
const NO_DATA = new Uint8Array(0);

/** The writes that record a snapshot's metadata, and delete the data older versions kept beside it. */
function snapshotOps(meta: SnapshotMetadata): BatchOp[] {
  return [
    { type: 'put', key: singleKey(Prefix.snapshotMeta), value: encodeSnapshotMeta(meta, crc32(NO_DATA)) },
    { type: 'del', key: singleKey(Prefix.snapshotData) },
  ];
}

/** Entries one read of a start-up scan asks LevelDB for. */
const SCAN_BATCH_ENTRIES = 4096;
/**
 * Bytes one read of a start-up scan may return. classic-level's default (16 KiB) makes a
 * round trip to LevelDB's thread for every few dozen records, which dominated loading a
 * million of them.
 */
const SCAN_BATCH_BYTES = 4 * 1024 * 1024;

/** Every entry of a key range, in key order, in large batches. */
async function* scan(
  db: Level<Uint8Array, Uint8Array>,
  range: { gte: Uint8Array; lt: Uint8Array },
): AsyncGenerator<[Uint8Array, Uint8Array][]> {
  const it = db.iterator({ ...range, highWaterMarkBytes: SCAN_BATCH_BYTES });
  try {
    for (;;) {
      const batch = await it.nextv(SCAN_BATCH_ENTRIES);
      if (batch.length === 0) return;
      yield batch;
    }
  } finally {
    await it.close();
  }
}

/** The state machine's entries on disk, checked as they are read; a damaged one ends the read with CORRUPT. */
async function* stateMachineEntries(
  db: Level<Uint8Array, Uint8Array>,
  dir: string,
): AsyncGenerator<StateMachineEntry[]> {
  try {
    for await (const batch of scan(db, prefixRange(Prefix.stateMachine)))
      yield batch.map(([key, value]): StateMachineEntry => [key.subarray(1), openRecord(key, value)]);
  } catch (err) {
    throw unreadableDataDir(dir, err);
  }
}

/** Reads one state-machine value, from a pinned view when given one. */
function readValue(
  db: Level<Uint8Array, Uint8Array>,
  key: Uint8Array,
  snapshot?: ReturnType<Level<Uint8Array, Uint8Array>['snapshot']>,
): Uint8Array | undefined {
  const stored = stateMachineKey(key, Prefix.stateMachineValue);
  const value = snapshot === undefined ? db.getSync(stored) : db.getSync(stored, { snapshot });
  return value === undefined ? undefined : openRecord(stored, value);
}

/** The state machine's values in db (see StateMachineValues). */
function stateMachineValues(db: Level<Uint8Array, Uint8Array>): StateMachineValues {
  return {
    read: (key) => readValue(db, key),
    pin() {
      const snapshot = db.snapshot();
      let released = false;
      return {
        read(key) {
          assert(!released, 'a released view of the values was read');
          return readValue(db, key, snapshot);
        },
        release() {
          if (released) return;
          released = true;
          // Closing the database closes its snapshots: one released after that is already closed.
          snapshot.close().catch(() => undefined);
        },
      };
    },
  };
}

/** compactRange calls per compactAll (see there why one is not enough). */
const COMPACTION_PASSES = 2;

type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/** A batch waiting its turn to be written. */
interface QueuedWrite {
  readonly ops: readonly BatchOp[];
  readonly sync: boolean;
  /** Deletions computed when the batch is written (every state-machine key). */
  readonly clearFirst: (() => Promise<BatchOp[]>) | undefined;
  resolve(): void;
  reject(err: unknown): void;
}

function u53(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setUint32(0, Math.floor(n / 2 ** 32));
  v.setUint32(4, n % 2 ** 32);
  return out;
}

function readU53(b: Uint8Array): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(0) * 2 ** 32 + v.getUint32(4);
}

/** What an operator can do about a data folder this member cannot use. */
const DAMAGED_DATA_DIR_ADVICE =
  'if it was damaged, truncated or partly deleted, move it away and rejoin this member from its peers ' +
  '(etcdctl member remove, then member add, and start with --initial-cluster-state existing)';

/** The error a member stops with when its data folder cannot be opened or fails a check: it names the folder, the cause and what to do. */
function unreadableDataDir(dir: string, err: unknown): CairnError {
  if (err instanceof CairnError && err.code !== ErrorCode.CORRUPT) return err;
  // classic-level wraps LevelDB's own message ("Corruption: ...", "IO error: ...") in `cause`.
  const e = err as Error & { cause?: Error; code?: string };
  const cause = e.cause?.message ?? e.message;
  const reason = cause === e.message ? cause : `${e.message}: ${cause}`;
  if (/\block\b/i.test(cause)) return lockedDataDir(dir, reason);
  return new CairnError(
    err instanceof CairnError ? ErrorCode.CORRUPT : ErrorCode.DATA_DIR_UNREADABLE,
    `cannot use the data folder ${dir} (${reason}); ${DAMAGED_DATA_DIR_ADVICE}`,
  );
}

/** The error a member stops with when another process holds its data folder's lock. */
function lockedDataDir(dir: string, reason: string): CairnError {
  return new CairnError(
    ErrorCode.DATA_DIR_UNREADABLE,
    `cannot open the data folder ${dir} (${reason}); is another member running with it?`,
  );
}

/**
 * Checks the folder's data format version; writes it into a folder that holds nothing yet,
 * and marks a folder of an older readable version with this one. A folder with data but no
 * version was written before version 2 and is refused, as is one of a version this Cairn
 * does not read: reading it as this one would misread every record.
 */
async function checkFormatVersion(
  db: Level<Uint8Array, Uint8Array>,
  dir: string,
  log: Logger,
): Promise<void> {
  const key = singleKey(Prefix.formatVersion);
  const current = new TextEncoder().encode(String(DATA_FORMAT_VERSION));
  const stored = await db.get(key);
  if (stored === undefined) {
    for await (const _ of db.keys({ limit: 1 }))
      throw new CairnError(
        ErrorCode.DATA_DIR_UNREADABLE,
        `cannot use the data folder ${dir}: it holds data but no format version record (written by a Cairn ` +
          `older than data format ${READABLE_FORMAT_VERSIONS[0]}, or damaged); ${DAMAGED_DATA_DIR_ADVICE}`,
      );
    await db.put(key, current, { sync: true });
    return;
  }
  const version = new TextDecoder().decode(stored);
  const readable = READABLE_FORMAT_VERSIONS.find((v) => String(v) === version);
  if (readable === undefined)
    throw new CairnError(
      ErrorCode.DATA_DIR_UNREADABLE,
      `cannot use the data folder ${dir}: it holds data format version ${JSON.stringify(version.slice(0, 16))}; ` +
        `this Cairn reads versions ${READABLE_FORMAT_VERSIONS.slice(0, -1).join(', ')} and ${READABLE_FORMAT_VERSIONS.at(-1)}`,
    );
  if (readable !== DATA_FORMAT_VERSION) {
    await db.put(key, current, { sync: true });
    log.info(
      { from: readable, to: DATA_FORMAT_VERSION },
      'data folder marked with the current format version',
    );
  }
}

/** LevelDB-backed storage for one member. */
export class LevelStorage {
  /** Number of LevelDB batches written, for tests and metrics. */
  batchesWritten = 0;
  /** Batches waiting for the one being written; bounded by the node's Readies in flight. */
  private readonly writeQueue: QueuedWrite[] = [];
  private writing = false;
  /** The deletions of compacted log keys, one after another (see clearLogThrough). */
  private logCleared: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly db: Level<Uint8Array, Uint8Array>,
    readonly raftStorage: MemoryStorage,
    private readonly opts: LevelStorageOptions,
  ) {}

  /**
   * Opens (or creates) the data folder and loads it, checking every checksum (LevelDB's tables
   * block by block before LevelDB opens them, then every record) and that the log is contiguous
   * after the snapshot. Refuses to start with CORRUPT, naming what is wrong,
   * rather than serve data it cannot vouch for.
   */
  static async open(
    dir: string,
    opts: LevelStorageOptions,
  ): Promise<{ storage: LevelStorage; recovered: RecoveredState }> {
    try {
      await checkTables(dir);
    } catch (err) {
      // Tables another process is writing would read as damaged: say that it holds them.
      if (await lockHeld(dir)) throw lockedDataDir(dir, 'its LOCK is held by another process');
      throw unreadableDataDir(dir, err);
    }
    // Made only now: a Level opens itself on the next tick after it is constructed.
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      throw unreadableDataDir(dir, err);
    }
    try {
      await checkFormatVersion(db, dir, opts.logger);
      const hsBytes = await db.get(singleKey(Prefix.hardState));
      const metaBytes = await db.get(singleKey(Prefix.snapshotMeta));
      const appliedBytes = await db.get(singleKey(Prefix.applied));
      let snapshot: Snapshot | undefined;
      if (metaBytes) {
        const { meta, dataCrc } = decodeSnapshotMeta(metaBytes);
        // Folders written before snapshots became metadata-only hold the data too: it is
        // still checked, then left out of memory (the next snapshot deletes it).
        const data = (await db.get(singleKey(Prefix.snapshotData))) ?? NO_DATA;
        if (crc32(data) !== dataCrc)
          throw new CairnError(ErrorCode.CORRUPT, `the snapshot at index ${meta.index} fails its checksum`);
        snapshot = { metadata: meta, data: NO_DATA };
      }
      const entries: Entry[] = [];
      let expected = (snapshot?.metadata.index ?? 0) + 1;
      // From just after the snapshot: the entries behind it (catch-up entries a compaction
      // kept, or left by an interrupted one) are not loaded, so they are not read either.
      const logRange = { gte: logKey(expected), lt: prefixRange(Prefix.log).lt };
      for await (const batch of scan(db, logRange))
        for (const [key, value] of batch) {
          const index = indexOfLogKey(key);
          if (index !== expected)
            throw new CairnError(
              ErrorCode.CORRUPT,
              `the raft log has a gap: entry ${expected} is missing before ${index}`,
            );
          entries.push(decodeEntry(index, value));
          expected++;
        }
      const fresh = !hsBytes && !snapshot && entries.length === 0;
      const memory = new MemoryStorage(
        fresh ? (opts.initialConfState ?? EMPTY_CONF_STATE) : EMPTY_CONF_STATE,
      );
      if (snapshot) memory.applySnapshot(snapshot);
      memory.append(entries);
      if (hsBytes) {
        const hs = decodeHardState(hsBytes);
        if (hs.commit > memory.lastIndex()) {
          throw new CairnError(
            ErrorCode.CORRUPT,
            `the hard state commits index ${hs.commit} but the log ends at ${memory.lastIndex()}`,
          );
        }
        memory.setHardState(hs);
      }
      const stateMachine = stateMachineEntries(db, dir);
      const appliedKey = singleKey(Prefix.applied);
      const appliedIndex = appliedBytes ? readU53(openRecord(appliedKey, appliedBytes)) : 0;
      opts.logger.info(
        { dir, snapshotIndex: snapshot?.metadata.index ?? 0, entries: entries.length, appliedIndex, fresh },
        'storage opened',
      );
      return {
        storage: new LevelStorage(dir, db, memory, opts),
        recovered: { appliedIndex, stateMachine, values: stateMachineValues(db) },
      };
    } catch (err) {
      await db.close();
      throw unreadableDataDir(dir, err);
    }
  }

  /**
   * Writes a Ready's worth of state in one batch (synced unless told otherwise). The
   * in-memory log is updated at once, before this returns; the disk writes complete in the
   * order they were issued, and writes issued while one is under way go to disk together in
   * one batch (group commit: one fsync for all of them).
   */
  persist(b: DurableBatch): Promise<void> {
    const ops: BatchOp[] = [];
    let clearStateMachine = false;
    try {
      if (b.snapshot) {
        // A snapshot from the leader replaces the whole log. Entries beyond it would read as
        // its successors after a crash: they go in this batch. Those up to it are skipped at
        // start-up anyway: they are deleted afterwards, off the event loop (clearLogThrough).
        const from = Math.max(this.raftStorage.firstIndex(), b.snapshot.metadata.index + 1);
        for (let i = from; i <= this.raftStorage.lastIndex(); i++) ops.push({ type: 'del', key: logKey(i) });
        ops.push(...snapshotOps(b.snapshot.metadata));
      }
      if (b.entries.length > 0) {
        const last = b.entries[b.entries.length - 1]!.index;
        // A conflicting suffix beyond the new entries is truncated on disk as in memory.
        for (let i = last + 1; i <= this.raftStorage.lastIndex(); i++)
          ops.push({ type: 'del', key: logKey(i) });
        for (const e of b.entries) ops.push({ type: 'put', key: logKey(e.index), value: encodeEntry(e) });
      }
      if (b.hardState)
        ops.push({ type: 'put', key: singleKey(Prefix.hardState), value: encodeHardState(b.hardState) });
      if (b.stateMachineWrites !== undefined) {
        const sm = this.opts.toOps(b.stateMachineWrites);
        clearStateMachine = sm.clearFirst;
        for (const k of sm.dels) ops.push({ type: 'del', key: stateMachineKey(k) });
        for (const [k, v] of sm.puts) {
          const key = stateMachineKey(k);
          ops.push({ type: 'put', key, value: sealRecord(key, v) });
        }
        for (const k of sm.valueDels ?? [])
          ops.push({ type: 'del', key: stateMachineKey(k, Prefix.stateMachineValue) });
        for (const [k, v] of sm.valuePuts ?? []) {
          const key = stateMachineKey(k, Prefix.stateMachineValue);
          ops.push({ type: 'put', key, value: sealRecord(key, v) });
        }
        const appliedKey = singleKey(Prefix.applied);
        ops.push({ type: 'put', key: appliedKey, value: sealRecord(appliedKey, u53(b.appliedIndex)) });
      }
      if (b.snapshot) this.raftStorage.applySnapshot({ metadata: b.snapshot.metadata, data: NO_DATA });
      this.raftStorage.append(b.entries);
      if (b.hardState) this.raftStorage.setHardState(b.hardState);
    } catch (err) {
      return Promise.reject(err);
    }
    const clearFirst = clearStateMachine ? () => this.stateMachineKeys() : undefined;
    const written = this.write(ops, b.sync ?? true, clearFirst);
    const installed = b.snapshot?.metadata.index;
    if (installed !== undefined)
      written.then(
        () => this.clearLogThrough(installed),
        () => undefined, // the caller handles the failed write
      );
    return written;
  }

  /** Deletions of every state-machine key and value on disk (a snapshot from the leader replaces them). */
  private async stateMachineKeys(): Promise<BatchOp[]> {
    const dels: BatchOp[] = [];
    for (const prefix of [Prefix.stateMachine, Prefix.stateMachineValue])
      for await (const key of this.db.keys(prefixRange(prefix))) dels.push({ type: 'del', key });
    return dels;
  }

  /**
   * Records a locally taken snapshot at index (metadata only: the state machine's data up to
   * there is on disk as its keys) and compacts the log up to compactIndex, durably.
   */
  async saveSnapshot(index: number, confState: ConfState, compactIndex: number): Promise<void> {
    const term = this.raftStorage.term(index);
    await this.write(snapshotOps({ index, term, confState }), true);
    this.raftStorage.createSnapshot(index, confState, NO_DATA);
    this.raftStorage.compact(compactIndex);
    this.clearLogThrough(compactIndex);
  }

  /**
   * Deletes the log's keys up to index on LevelDB's own thread, after the snapshot that covers
   * them (taken here or installed from the leader) is on disk. Deleting 100,000 of them in a
   * batch built here held the event loop for about 100 ms. A crash before the deletion lands
   * leaves only entries below the snapshot, which start-up skips and the next clear removes
   * (it starts from the log's first key).
   */
  private clearLogThrough(index: number): void {
    const range = { gte: logKey(0), lte: logKey(index) };
    this.logCleared = this.logCleared
      .then(() => this.db.clear(range))
      .catch((err: unknown) => this.opts.logger.warn({ err, index }, 'deleting the compacted log failed'));
  }

  /** Resolves once the compacted log's keys are deleted on disk (for tests; close() waits for it too). */
  compactedLogCleared(): Promise<void> {
    return this.logCleared;
  }

  /** Queues a batch; resolves once it (and every batch queued before it) is on disk. */
  private write(ops: BatchOp[], sync: boolean, clearFirst?: () => Promise<BatchOp[]>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.writeQueue.push({ ops, sync, clearFirst, resolve, reject });
      if (!this.writing) void this.drainWrites();
    });
  }

  /**
   * Writes the queue in order, each time everything queued as one LevelDB batch (synced if
   * any part must be). A part that clears the state machine's keys starts a batch of its own,
   * so that its scan sees every earlier part on disk.
   */
  private async drainWrites(): Promise<void> {
    this.writing = true;
    try {
      while (this.writeQueue.length > 0) {
        let n = 1;
        while (n < this.writeQueue.length && this.writeQueue[n]!.clearFirst === undefined) n++;
        const parts = this.writeQueue.splice(0, n);
        try {
          const ops: BatchOp[] = parts[0]!.clearFirst ? await parts[0]!.clearFirst() : [];
          let sync = false;
          for (const p of parts) {
            for (const op of p.ops) ops.push(op);
            sync ||= p.sync;
          }
          if (ops.length > 0) {
            if (sync && this.opts.beforeSync) await this.opts.beforeSync();
            const startedNs = process.hrtime.bigint();
            await this.writeBatch(ops, sync);
            if (sync) this.opts.onSyncedWrite?.(Number(process.hrtime.bigint() - startedNs) / 1e9);
            this.batchesWritten++;
          }
        } catch (err) {
          for (const p of parts) p.reject(err);
          continue;
        }
        for (const p of parts) p.resolve();
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * Writes ops as one LevelDB batch. A chained batch hands each op to LevelDB as it is added:
   * on the event loop it costs half of what an array batch does (which copies every op and
   * reads it back property by property), measured with 5-op batches, 40 us against 90 us.
   */
  private async writeBatch(ops: readonly BatchOp[], sync: boolean): Promise<void> {
    const batch = this.db.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
    } catch (err) {
      await batch.close();
      throw err;
    }
    await batch.write({ sync });
  }

  /**
   * Bytes the data folder's files take (etcd's dbSize): LevelDB's tables, write-ahead log and
   * manifest. Files LevelDB removes while this runs are skipped.
   */
  async sizeOnDiskBytes(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      try {
        const st = await stat(join(this.dir, name));
        if (st.isFile()) total += st.size;
      } catch {
        // Removed by a compaction between readdir and stat.
      }
    }
    return total;
  }

  /**
   * Compacts the whole key space (etcd's defragment), so the space of deleted and overwritten
   * values goes back to the disk. LevelDB's compactRange flushes the memtable, but a flushed
   * table that overlaps nothing lands on level 2 and is not rewritten by that call; a second
   * pass, with a marker key inside the range in the memtable, flushes to level 1 and merges
   * it with everything below, which drops the dead values.
   */
  async compactAll(): Promise<void> {
    // The log a snapshot just compacted is deleted off the event loop: let those deletions
    // land first, so that this compaction drops them too (defragment snapshots, then compacts).
    await this.logCleared;
    // `level` resolves to classic-level on Node, whose compactRange its own typings do not show.
    const db = this.db as unknown as { compactRange?: (start: Uint8Array, end: Uint8Array) => Promise<void> };
    if (typeof db.compactRange !== 'function')
      throw new CairnError(ErrorCode.UNAVAILABLE, 'this LevelDB binding cannot compact a range');
    for (let pass = 0; pass < COMPACTION_PASSES; pass++) {
      await this.db.put(singleKey(Prefix.compactionMarker), new Uint8Array(0));
      // Every key starts with one of the layout's prefix bytes, all below 0xff.
      await db.compactRange.call(this.db, new Uint8Array([0x00]), new Uint8Array([0xff]));
    }
  }

  /** Flushes and closes the database. */
  async close(): Promise<void> {
    await this.logCleared;
    await this.db.close();
  }

  /** Test hook: the underlying database (to corrupt it on purpose). */
  get database(): Level<Uint8Array, Uint8Array> {
    return this.db;
  }
}
