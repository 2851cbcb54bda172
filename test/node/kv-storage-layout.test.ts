/**
 * Proves how the key-value state machine lays its store out in LevelDB: one value per
 * revision (a Txn of many puts is one LevelDB entry, compaction rewrites or deletes a
 * revision's value) and each put's value apart (exactly one per put the store holds, read
 * when asked, not at start-up), read back into the same store; and that a folder an older version wrote,
 * one record per key, is read and converted to that layout a bounded chunk per write, readable
 * half converted, with a compaction of old-style revisions converting them at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { type CairnError, ErrorCode } from '../../src/common/errors.js';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { silentLogger } from '../../src/common/logger.js';
import {
  type Command,
  EventType,
  encodeCommand,
  encodeMeta,
  encodeRecordKey,
  encodeRecordValue,
  MvccStore,
  revisionsOf,
} from '../../src/mvcc/index.js';
import { EntryKind, type Envelope } from '../../src/node/envelope.js';
import {
  KvStateMachine,
  type KvWrites,
  kvWritesToOps,
  recoverKvStateMachine,
} from '../../src/node/kv-state-machine.js';
import { LEGACY_RECORDS_PER_WRITE } from '../../src/node/legacy-records.js';
import { Prefix, prefixRange } from '../../src/storage/layout.js';
import { LevelStorage, type StateMachineOps } from '../../src/storage/level-storage.js';
import { formatOneRevisionValue } from '../mvcc/support.js';
import { readBattery, workload } from '../mvcc/workload.js';

const CS = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
let dirs: string[] = [];
/** Each folder's storage while it is open: a recovered store reads its values through it. */
const opened = new Map<string, LevelStorage>();

async function closeStorage(dir: string): Promise<void> {
  await opened.get(dir)?.close();
  opened.delete(dir);
}

afterEach(async () => {
  for (const d of [...opened.keys()]) await closeStorage(d);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-layout-'));
  dirs.push(d);
  return d;
}

/** A raft entry's envelope for an mvcc command. */
function mvccEntry(c: Command): Envelope {
  return { kind: EntryKind.Mvcc, proposer: 0, seq: 0, payload: encodeCommand(c) };
}

/** Applies commands to a state machine as raft entries from index `from` on; returns the next index. */
function applyAll(sm: KvStateMachine, commands: Iterable<Command>, from = 1): number {
  let index = from;
  for (const c of commands) {
    sm.apply({ index, term: 1 }, mvccEntry(c));
    index++;
  }
  return index;
}

/**
 * Writes what the state machine has to write (or the writes given), through the real storage
 * with toOps: the folder's open storage (the one the state machine was recovered through), or
 * one opened for the write.
 */
async function persist(
  dir: string,
  sm: KvStateMachine,
  toOps = kvWritesToOps,
  writes: KvWrites | undefined = sm.takeWrites(),
): Promise<void> {
  const open = opened.get(dir);
  if (open !== undefined) {
    await open.persist({ entries: [], stateMachineWrites: writes, appliedIndex: sm.appliedIndex });
    return;
  }
  const { storage } = await LevelStorage.open(dir, { logger: silentLogger(), toOps, initialConfState: CS });
  try {
    await storage.persist({ entries: [], stateMachineWrites: writes, appliedIndex: sm.appliedIndex });
  } finally {
    await storage.close();
  }
}

/** Reopens the folder and rebuilds the state machine from it; the folder stays open for its values. */
async function recover(dir: string): Promise<KvStateMachine> {
  await closeStorage(dir);
  const { storage, recovered } = await LevelStorage.open(dir, {
    logger: silentLogger(),
    toOps: kvWritesToOps,
    initialConfState: CS,
  });
  try {
    const sm = await recoverKvStateMachine(recovered);
    opened.set(dir, storage);
    return sm;
  } catch (err) {
    await storage.close();
    throw err;
  }
}

/**
 * How many old-style record keys (12 bytes), revision keys ([6, main]) and values kept apart
 * ('W' + record key) the folder holds. Closes the folder's storage to read it.
 */
async function mvccKeys(dir: string): Promise<{ records: number; revisions: number; values: number }> {
  await closeStorage(dir);
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  const out = { records: 0, revisions: 0, values: 0 };
  try {
    const range = prefixRange(Prefix.stateMachine);
    for await (const key of db.keys(range)) {
      if (key.byteLength === 13) out.records++;
      else if (key.byteLength === 10 && key[1] === 6) out.revisions++;
    }
    const values = prefixRange(Prefix.stateMachineValue);
    for await (const key of db.keys(values)) {
      expect(key.byteLength).toBe(13);
      out.values++;
    }
  } finally {
    await db.close();
  }
  return out;
}

/** How many values a store keeps apart: one per PUT with a non-empty value. */
function storedValues(store: MvccStore): number {
  return [...store.records()].filter((r) => r.type === EventType.Put && r.value !== '').length;
}

/** The old layout's writer, whatever the state machine has to write: the whole store, one record per key. */
function oldLayout(source: KvStateMachine): (writes: unknown) => StateMachineOps {
  return () => legacyOps(source.store);
}

/** A store of the seeded workload (compactions included) and 120 Txns of 100 puts: three conversion chunks. */
function bulkSource(): KvStateMachine {
  const source = new KvStateMachine(new MvccStore(), 0);
  const next = applyAll(
    source,
    workload(32, 300, () => source.store),
  );
  const bulk: Command[] = Array.from({ length: 120 }, (_, t) => ({
    type: 'txn',
    request: {
      success: Array.from({ length: 100 }, (_, i) => ({
        requestPut: {
          key: new TextEncoder().encode(`bulk/${(t * 100 + i) % 900}`),
          value: new Uint8Array(8).fill(t),
        },
      })),
    },
  }));
  applyAll(source, bulk, next);
  return source;
}

/** A full garbage collection (FinalizationRegistry callbacks run on a later task). */
const collectGarbage = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Opens the folder's LevelDB directly (its storage closed first), for fn. */
async function withDatabase(
  dir: string,
  fn: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<void>,
): Promise<void> {
  await closeStorage(dir);
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

/** Values kept apart in an open storage. */
async function storedValueCount(storage: LevelStorage): Promise<number> {
  let n = 0;
  const range = prefixRange(Prefix.stateMachineValue);
  for await (const _ of storage.database.keys(range)) n++;
  return n;
}

/** Data format 3's writer, whatever the state machine has to write: each revision's records with their values inside. */
function formatThreeLayout(source: KvStateMachine): (writes: unknown) => StateMachineOps {
  return () => {
    const puts: [Uint8Array, Uint8Array][] = [];
    for (const { main, records } of revisionsOf([...source.store.records()])) {
      const key = new Uint8Array(9);
      key[0] = 6;
      new DataView(key.buffer).setBigUint64(1, BigInt(main));
      puts.push([key, formatOneRevisionValue(records)]);
    }
    puts.push([Uint8Array.of(0), encodeMeta(source.store.meta())]);
    return { clearFirst: false, puts, dels: [] };
  };
}

/** The main revisions that hold records. */
function mains(store: MvccStore): number {
  return new Set([...store.records()].map((r) => r.main)).size;
}

/** The old layout: every record under its 12-byte record key, and the meta (what versions before revision values wrote). */
function legacyOps(store: MvccStore): StateMachineOps {
  const puts: [Uint8Array, Uint8Array][] = [...store.records()].map((r) => [
    encodeRecordKey(r),
    encodeRecordValue(r),
  ]);
  puts.push([Uint8Array.of(0), encodeMeta(store.meta())]);
  return { clearFirst: false, puts, dels: [] };
}

describe('the key-value store in LevelDB', () => {
  it('keeps one value per revision: a Txn of 100 puts is one entry, and the folder reads back as the same store', async () => {
    const sm = new KvStateMachine(new MvccStore(), 0);
    const success = Array.from({ length: 100 }, (_, i) => ({
      requestPut: { key: new TextEncoder().encode(`k/${i}`), value: new Uint8Array(64).fill(i) },
    }));
    applyAll(sm, [{ type: 'txn', request: { success } }]);
    const writes = sm.takeWrites() as KvWrites;
    expect(writes.changes?.revisions.map((r) => [r.main, r.records.length])).toEqual([[2, 100]]);
    const ops = kvWritesToOps(writes);
    // The revision and the meta.
    expect(ops.puts.length).toBe(2);
    expect(ops.dels).toEqual([]);
  });

  it('rewrites or deletes the values of revisions compaction changed, through a long workload, and reads back the same store', async () => {
    const dir = folder();
    const sm = new KvStateMachine(new MvccStore(), 0);
    let index = 1;
    for (const c of workload(31, 400, () => sm.store)) {
      sm.apply({ index, term: 1 }, mvccEntry(c));
      index++;
      if (index % 50 === 0) await persist(dir, sm);
    }
    await persist(dir, sm);
    expect(sm.store.compactedRevision).toBeGreaterThan(0);
    const back = await recover(dir);
    expect(readBattery(back.store)).toEqual(readBattery(sm.store));
    expect(back.store.recordCount).toBe(sm.store.recordCount);
    // No record key of the old layout, and exactly one value per revision that still holds records.
    expect(await mvccKeys(dir)).toEqual({
      records: 0,
      revisions: mains(sm.store),
      values: storedValues(sm.store),
    });
  });

  it('reads a folder written one record per key, and converts it a chunk of whole revisions per write, readable at every step', async () => {
    const dir = folder();
    const source = bulkSource();
    expect(source.store.compactedRevision).toBeGreaterThan(0);
    const records = source.store.recordCount;
    expect(records).toBeGreaterThan(LEGACY_RECORDS_PER_WRITE);
    await persist(dir, source, oldLayout(source));
    expect(await mvccKeys(dir)).toEqual({ records, revisions: 0, values: 0 });

    // Read as it is: the same store.
    let sm = await recover(dir);
    expect(readBattery(sm.store)).toEqual(readBattery(source.store));
    expect(sm.legacyRecordsLeft).toBe(records);
    let left = records;
    let chunks = 0;
    while (left > 0) {
      const writes = sm.takeWrites() as KvWrites;
      const converted = writes.legacyKeys?.length ?? 0;
      // At least a chunk (or what is left), and never much more: whole revisions of at most 100 records.
      expect(converted).toBeGreaterThanOrEqual(Math.min(LEGACY_RECORDS_PER_WRITE, left));
      expect(converted).toBeLessThan(LEGACY_RECORDS_PER_WRITE + 100);
      await persist(dir, sm, kvWritesToOps, writes);
      left -= converted;
      chunks++;
      expect((await mvccKeys(dir)).records).toBe(left);
      // Read back half converted: the same store (a revision in both forms would be refused as CORRUPT).
      sm = await recover(dir);
      expect(sm.legacyRecordsLeft).toBe(left);
      expect(readBattery(sm.store)).toEqual(readBattery(source.store));
    }
    expect(chunks).toBeGreaterThan(1);
    expect(await mvccKeys(dir)).toEqual({
      records: 0,
      revisions: mains(source.store),
      values: storedValues(source.store),
    });
    expect(sm.takeWrites()).toBeUndefined();
  });

  it('leaves the values in storage at start-up, reads each when asked, and names a missing one as CORRUPT', async () => {
    const dir = folder();
    const sm = new KvStateMachine(new MvccStore(), 0);
    applyAll(
      sm,
      workload(33, 200, () => sm.store),
    );
    await persist(dir, sm);
    // Every stored value deleted behind the store's back: start-up does not notice, since it
    // reads none of them; the keys, revisions and counts are all there.
    await withDatabase(dir, async (db) => {
      const range = prefixRange(Prefix.stateMachineValue);
      await db.clear(range);
    });
    const back = await recover(dir);
    expect(back.store.recordCount).toBe(sm.store.recordCount);
    const all = { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) };
    expect(back.store.range({ ...all, keysOnly: true }).kvs.map((kv) => kv.key)).toEqual(
      sm.store.range({ ...all, keysOnly: true }).kvs.map((kv) => kv.key),
    );
    const err = (() => {
      try {
        back.store.range(all);
      } catch (e) {
        return e as CairnError;
      }
      return undefined;
    })();
    expect(err?.code).toBe(ErrorCode.CORRUPT);
    expect(err?.message).toMatch(/the stored value of revision \(\d+, \d+\) is missing/);
  });

  it('checks a stored value as it reads it: one damaged on disk is refused as CORRUPT', async () => {
    const dir = folder();
    const sm = new KvStateMachine(new MvccStore(), 0);
    applyAll(sm, [{ type: 'put', request: { key: Uint8Array.of(107), value: Uint8Array.of(1, 2, 3) } }]);
    await persist(dir, sm);
    await withDatabase(dir, async (db) => {
      const range = prefixRange(Prefix.stateMachineValue);
      const entries = await db.iterator(range).all();
      expect(entries.length).toBe(1);
      const [key, value] = entries[0]!;
      const damaged = Uint8Array.from(value);
      damaged[damaged.length - 1]! ^= 0x40;
      await db.put(key, damaged);
    });
    const back = await recover(dir);
    expect(() => back.store.range({ key: Uint8Array.of(107) })).toThrow(/fails its checksum/);
  });

  it('writes a restored state with the changes applied after it in one batch without bringing back what they deleted', async () => {
    const source = new KvStateMachine(new MvccStore(), 0);
    applyAll(
      source,
      workload(35, 200, () => source.store),
    );
    const sm = new KvStateMachine(new MvccStore(), 0);
    sm.restore(source.appliedIndex, collectBytes(source.snapshot()));
    // A compaction applied before the restored state is written: the one batch holds both.
    const compact: Command = { type: 'compact', request: { revision: sm.store.currentRevision } };
    applyAll(sm, [compact], sm.appliedIndex + 1);
    const writes = sm.takeWrites() as KvWrites;
    expect(writes.replaceWith).toBeDefined();
    expect(writes.changes?.revisions.some((r) => r.records.length === 0)).toBe(true);
    const dir = folder();
    await persist(dir, sm, kvWritesToOps, writes);
    expect(await mvccKeys(dir)).toEqual({
      records: 0,
      revisions: mains(sm.store),
      values: storedValues(sm.store),
    });
    expect(readBattery((await recover(dir)).store)).toEqual(readBattery(sm.store));
  });

  it('a snapshot taken before a compaction reads the values that compaction deleted from storage', async () => {
    const dir = folder();
    const sm = new KvStateMachine(new MvccStore(), 0);
    let index = applyAll(
      sm,
      workload(34, 200, () => sm.store),
    );
    await persist(dir, sm);
    const back = await recover(dir);
    // Rewrite every key, then compact everything before: every value loaded from disk is dropped.
    const keys = back.store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), keysOnly: true }).kvs;
    expect(keys.length).toBeGreaterThan(2);
    const rewrites: Command[] = keys.map((kv) => ({
      type: 'put',
      request: { key: kv.key, value: Uint8Array.of(1) },
    }));
    index = applyAll(back, rewrites, back.appliedIndex + 1);
    applyAll(sm, rewrites, sm.appliedIndex + 1);
    const before = back.snapshot();
    const expected = collectBytes(sm.snapshot());
    // Nothing but the snapshot's bytes holds its view of storage: a full collection must not release it.
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const compact: Command = { type: 'compact', request: { revision: back.store.currentRevision } };
    applyAll(back, [compact], index);
    applyAll(sm, [compact], index);
    await persist(dir, back);
    // The compaction's write deleted the values it dropped: only the rewrites' are left.
    expect(await storedValueCount(opened.get(dir)!)).toBe(keys.length);
    expect(storedValues(back.store)).toBe(keys.length);
    expect(collectBytes(before)).toEqual(expected);
    expect(readBattery(back.store)).toEqual(readBattery(sm.store));
  });

  it('reads a folder of data format 3 (values inside the revision values) and writes what it changes in the current form', async () => {
    const dir = folder();
    const source = bulkSource();
    await persist(dir, source, formatThreeLayout(source));
    expect(await mvccKeys(dir)).toEqual({ records: 0, revisions: mains(source.store), values: 0 });
    await withDatabase(dir, (db) =>
      db.put(Uint8Array.of(Prefix.formatVersion), new TextEncoder().encode('3')),
    );
    const sm = await recover(dir);
    expect(readBattery(sm.store)).toEqual(readBattery(source.store));
    // A compaction rewrites revisions it changed in the current form, their values apart.
    const compact: Command = { type: 'compact', request: { revision: source.store.currentRevision - 3 } };
    applyAll(source, [compact], source.appliedIndex + 1);
    applyAll(sm, [compact], sm.appliedIndex + 1);
    const writes = sm.takeWrites() as KvWrites;
    const rewritten = (writes.changes?.revisions ?? []).filter((r) => r.records.length > 0);
    expect(rewritten.length).toBeGreaterThan(0);
    await persist(dir, sm, kvWritesToOps, writes);
    const kept = rewritten
      .flatMap((r) => r.records)
      .filter((r) => r.type === EventType.Put && r.value !== '');
    expect((await mvccKeys(dir)).values).toBe(kept.length);
    const back = await recover(dir);
    expect(readBattery(back.store)).toEqual(readBattery(source.store));
  });

  it('refuses a folder holding a revision in both forms as CORRUPT', async () => {
    const dir = folder();
    const source = bulkSource();
    await persist(dir, source, oldLayout(source));
    // The last Txn's revision written again as a value, its old keys kept: the value without
    // its first record (as after a compaction), so the two forms do not even start alike.
    const main = source.store.currentRevision;
    const records = [...source.store.records(main, main)].slice(1);
    expect(records.length).toBeGreaterThan(1);
    const writes: KvWrites = { changes: { revisions: [{ main, records }], meta: source.store.meta() } };
    await persist(dir, source, kvWritesToOps, writes);
    await expect(recover(dir)).rejects.toThrow(`revision ${main} is stored in both forms`);
  });

  it('converts, in the same write, every old-style revision up to one a compaction touches', async () => {
    const dir = folder();
    const source = bulkSource();
    await persist(dir, source, oldLayout(source));
    const sm = await recover(dir);
    await persist(dir, sm, kvWritesToOps, sm.takeWrites());
    // More than a chunk is left, so converting through the compaction is more than the next chunk.
    expect(sm.legacyRecordsLeft).toBeGreaterThan(LEGACY_RECORDS_PER_WRITE + 100);
    // A compaction deep into the revisions still in the old form: it drops records of theirs.
    const compact: Command = { type: 'compact', request: { revision: source.store.currentRevision - 3 } };
    const before = sm.store.recordCount;
    applyAll(source, [compact], source.appliedIndex + 1);
    applyAll(sm, [compact], sm.appliedIndex + 1);
    expect(sm.store.recordCount).toBeLessThan(before);
    const writes = sm.takeWrites() as KvWrites;
    // The revisions the compaction rewrote reach beyond the next chunk: the write converts through them.
    const touched = Math.max(...(writes.changes?.revisions ?? []).map((r) => r.main));
    const converted = writes.legacyKeys ?? [];
    expect(converted.length).toBeGreaterThan(LEGACY_RECORDS_PER_WRITE + 100);
    expect(Math.max(...converted.map((k) => k.main))).toBeGreaterThanOrEqual(
      Math.min(touched, sm.store.currentRevision),
    );
    await persist(dir, sm, kvWritesToOps, writes);
    const back = await recover(dir);
    expect(readBattery(back.store)).toEqual(readBattery(source.store));
    expect(back.store.recordCount).toBe(source.store.recordCount);
  });
});
