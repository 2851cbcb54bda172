/**
 * Proves how the key-value state machine lays its store out in LevelDB: one value per
 * revision (a Txn of many puts is one LevelDB entry, compaction rewrites or deletes a
 * revision's value), read back into the same store; and that a folder an older version wrote,
 * one record per key, is read and converted to that layout by the first write after start-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import {
  type Command,
  encodeCommand,
  encodeMeta,
  encodeRecordKey,
  encodeRecordValue,
  MvccStore,
} from '../../src/mvcc/index.js';
import { EntryKind, type Envelope } from '../../src/node/envelope.js';
import {
  KvStateMachine,
  type KvWrites,
  kvWritesToOps,
  recoverKvStateMachine,
} from '../../src/node/kv-state-machine.js';
import { Prefix } from '../../src/storage/layout.js';
import { LevelStorage, type StateMachineOps } from '../../src/storage/level-storage.js';
import { readBattery, workload } from '../mvcc/workload.js';

const CS = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
let dirs: string[] = [];

afterEach(() => {
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

/** Writes what the state machine has to write (or the writes given), through the real storage, with toOps. */
async function persist(
  dir: string,
  sm: KvStateMachine,
  toOps = kvWritesToOps,
  writes: KvWrites | undefined = sm.takeWrites(),
): Promise<void> {
  const { storage } = await LevelStorage.open(dir, { logger: silentLogger(), toOps, initialConfState: CS });
  try {
    await storage.persist({ entries: [], stateMachineWrites: writes, appliedIndex: sm.appliedIndex });
  } finally {
    await storage.close();
  }
}

/** Reopens the folder and rebuilds the state machine from it. */
async function recover(dir: string): Promise<KvStateMachine> {
  const { storage, recovered } = await LevelStorage.open(dir, {
    logger: silentLogger(),
    toOps: kvWritesToOps,
    initialConfState: CS,
  });
  try {
    return await recoverKvStateMachine(recovered);
  } finally {
    await storage.close();
  }
}

/** How many old-style record keys (12 bytes) and revision keys ([6, main]) the folder holds. */
async function mvccKeys(dir: string): Promise<{ records: number; revisions: number }> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  const out = { records: 0, revisions: 0 };
  try {
    const range = { gte: Uint8Array.of(Prefix.stateMachine), lt: Uint8Array.of(Prefix.stateMachine + 1) };
    for await (const key of db.keys(range)) {
      if (key.byteLength === 13) out.records++;
      else if (key.byteLength === 10 && key[1] === 6) out.revisions++;
    }
  } finally {
    await db.close();
  }
  return out;
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
    expect(await mvccKeys(dir)).toEqual({ records: 0, revisions: mains(sm.store) });
  });

  it('reads a folder written one record per key, and converts it with the first write', async () => {
    const dir = folder();
    const source = new KvStateMachine(new MvccStore(), 0);
    applyAll(
      source,
      workload(32, 300, () => source.store),
    );
    expect(source.store.compactedRevision).toBeGreaterThan(0);
    const oldLayout = (_writes: unknown): StateMachineOps => legacyOps(source.store);
    await persist(dir, source, oldLayout);
    const records = source.store.recordCount;
    expect(await mvccKeys(dir)).toEqual({ records, revisions: 0 });

    // Read as it is: the same store.
    const read = await recover(dir);
    expect(readBattery(read.store)).toEqual(readBattery(source.store));
    // The first write converts it: old keys deleted, one value per revision put.
    const writes = read.takeWrites() as KvWrites;
    expect(writes.legacyRecords?.length).toBe(records);
    await persist(dir, read, kvWritesToOps, writes);
    expect(await mvccKeys(dir)).toEqual({ records: 0, revisions: mains(source.store) });
    const converted = await recover(dir);
    expect(readBattery(converted.store)).toEqual(readBattery(source.store));
    expect(converted.takeWrites()).toBeUndefined();
  });
});
