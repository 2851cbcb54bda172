/**
 * Proves the LevelDB storage: what one synced batch wrote is all there after reopening
 * (entries, hard state, state-machine data with its applied index); a conflicting suffix
 * is truncated on disk as in memory; a snapshot (metadata only) and the compaction behind
 * it survive a restart, and the data older folders kept with it is checked, then dropped; the
 * compacted log leaves the disk after the snapshot, and keys a crash left below a snapshot are
 * skipped and later removed; an installed snapshot replaces the log and the state machine's
 * data, deleting the entries beyond it in its own write; and a corrupt or missing entry makes
 * start-up refuse with CORRUPT naming the entry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { crc32 } from '../../src/common/crc32.js';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { type ConfState, type Entry, EntryType } from '../../src/raft/index.js';
import { encodeEntry, encodeSnapshotMeta } from '../../src/storage/entry-codec.js';
import { indexOfLogKey, logKey, Prefix, prefixRange, singleKey } from '../../src/storage/layout.js';
import { LevelStorage, type StateMachineOps } from '../../src/storage/level-storage.js';
import { entriesOf } from './entries.js';

const CS: ConfState = {
  voters: [1, 2, 3],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const entry = (index: number, term: number, data = `e${index}`): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: enc(data),
});
const ops = (o: Partial<StateMachineOps>): StateMachineOps => ({
  clearFirst: false,
  puts: [],
  dels: [],
  ...o,
});
/** The indexes of the log entries on disk. */
async function logOnDisk(s: LevelStorage): Promise<number[]> {
  const out: number[] = [];
  for await (const k of s.database.keys(prefixRange(Prefix.log))) out.push(indexOfLogKey(k));
  return out;
}

const dirs: string[] = [];
const open: LevelStorage[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-storage-'));
  dirs.push(d);
  return d;
}

async function openAt(dir: string) {
  const r = await LevelStorage.open(dir, {
    logger: silentLogger(),
    toOps: (w) => w as StateMachineOps,
    initialConfState: CS,
  });
  open.push(r.storage);
  return r;
}

async function reopen(s: LevelStorage, dir: string) {
  await s.close();
  open.splice(open.indexOf(s), 1);
  return openAt(dir);
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LevelStorage', () => {
  test('a new folder starts with the founding configuration and nothing else', async () => {
    const { storage, recovered } = await openAt(tempDir());
    expect(storage.raftStorage.initialState().confState.voters).toEqual([1, 2, 3]);
    expect(storage.raftStorage.lastIndex()).toBe(0);
    expect(recovered.appliedIndex).toBe(0);
    expect(await entriesOf(recovered)).toEqual([]);
  });

  test('entries, hard state and state-machine data come back after reopening', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({
      entries: [entry(1, 1), entry(2, 1), entry(3, 2)],
      hardState: { term: 2, vote: 3, commit: 2 },
      stateMachineWrites: ops({ puts: [[enc('a'), enc('1')]] }),
      appliedIndex: 2,
    });
    expect(storage.batchesWritten).toBe(1);
    const again = await reopen(storage, dir);
    const rs = again.storage.raftStorage;
    expect(rs.lastIndex()).toBe(3);
    expect(rs.entries(1, 4, Infinity).map((e) => [e.index, e.term, dec(e.data)])).toEqual([
      [1, 1, 'e1'],
      [2, 1, 'e2'],
      [3, 2, 'e3'],
    ]);
    expect(rs.initialState().hardState).toEqual({ term: 2, vote: 3, commit: 2 });
    expect(again.recovered.appliedIndex).toBe(2);
    expect((await entriesOf(again.recovered)).map(([k, v]) => [dec(k), dec(v)])).toEqual([['a', '1']]);
  });

  test('a conflicting suffix is truncated on disk too', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({ entries: [1, 2, 3, 4, 5].map((i) => entry(i, 1)), appliedIndex: 0 });
    await storage.persist({ entries: [entry(3, 2, 'x'), entry(4, 2, 'y')], appliedIndex: 0 });
    const again = await reopen(storage, dir);
    const rs = again.storage.raftStorage;
    expect(rs.lastIndex()).toBe(4);
    expect(rs.entries(1, 5, Infinity).map((e) => e.term)).toEqual([1, 1, 2, 2]);
  });

  test('a snapshot and the compaction behind it survive a restart', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({
      entries: [1, 2, 3, 4, 5].map((i) => entry(i, 1)),
      hardState: { term: 1, vote: 1, commit: 5 },
      appliedIndex: 0,
    });
    await storage.saveSnapshot(4, CS, 3);
    const again = await reopen(storage, dir);
    const rs = again.storage.raftStorage;
    expect(rs.snapshot().metadata).toEqual({ index: 4, term: 1, confState: CS });
    expect(rs.firstIndex()).toBe(5);
    expect(rs.lastIndex()).toBe(5);
  });

  test('the compacted log leaves the disk; keys a crash left below the snapshot are skipped, then removed', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({ entries: [1, 2, 3, 4, 5].map((i) => entry(i, 1)), appliedIndex: 0 });
    await storage.saveSnapshot(4, CS, 3);
    await storage.compactedLogCleared();
    expect(await logOnDisk(storage)).toEqual([4, 5]);
    // As if the member had crashed before the deletion landed.
    for (const i of [1, 2]) await storage.database.put(logKey(i), encodeEntry(entry(i, 1)));
    const again = await reopen(storage, dir);
    const rs = again.storage.raftStorage;
    // The log starts after the snapshot: entries 1 to 4 on disk are skipped.
    expect([rs.firstIndex(), rs.lastIndex()]).toEqual([5, 5]);
    expect(rs.entries(5, 6, Infinity).map((e) => e.term)).toEqual([1]);
    await again.storage.persist({ entries: [6, 7].map((i) => entry(i, 1)), appliedIndex: 0 });
    await again.storage.saveSnapshot(6, CS, 5);
    await again.storage.compactedLogCleared();
    expect(await logOnDisk(again.storage)).toEqual([6, 7]);
  });

  test('a snapshot keeps no data, in memory or on disk: the state machine has its own keys', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({
      entries: [1, 2, 3].map((i) => entry(i, 1)),
      stateMachineWrites: ops({ puts: [[enc('k'), enc('v')]] }),
      appliedIndex: 3,
    });
    await storage.saveSnapshot(3, CS, 2);
    expect(storage.raftStorage.snapshot().data.byteLength).toBe(0);
    expect(await storage.database.get(singleKey(Prefix.snapshotData))).toBeUndefined();
    const again = await reopen(storage, dir);
    expect(again.storage.raftStorage.snapshot().data.byteLength).toBe(0);
    expect((await entriesOf(again.recovered)).map(([k, v]) => `${dec(k)}=${dec(v)}`)).toEqual(['k=v']);
  });

  test('a folder whose snapshot still holds data opens; a bad checksum refuses; the next snapshot deletes it', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({ entries: [1, 2, 3].map((i) => entry(i, 1)), appliedIndex: 0 });
    // As an older version wrote it: the data under 'D', its checksum in the metadata.
    const image = enc('image@2');
    const meta = { index: 2, term: 1, confState: CS };
    await storage.database.put(singleKey(Prefix.snapshotMeta), encodeSnapshotMeta(meta, crc32(image)));
    await storage.database.put(singleKey(Prefix.snapshotData), image);
    const again = await reopen(storage, dir);
    expect(again.storage.raftStorage.snapshot().metadata.index).toBe(2);
    expect(again.storage.raftStorage.snapshot().data.byteLength).toBe(0);
    await again.storage.saveSnapshot(3, CS, 2);
    expect(await again.storage.database.get(singleKey(Prefix.snapshotData))).toBeUndefined();

    await again.storage.database.put(singleKey(Prefix.snapshotMeta), encodeSnapshotMeta(meta, crc32(image)));
    await again.storage.database.put(singleKey(Prefix.snapshotData), enc('image@X'));
    await again.storage.close();
    open.splice(open.indexOf(again.storage), 1);
    const failure = await openAt(dir).catch((e: unknown) => e);
    expect(isCairnError(failure, ErrorCode.CORRUPT)).toBe(true);
    expect((failure as Error).message).toMatch(/snapshot at index 2 fails its checksum/);
  });

  test('an installed snapshot replaces the log and the state-machine data', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({
      entries: [entry(1, 1), entry(2, 1)],
      stateMachineWrites: ops({ puts: [[enc('old'), enc('1')]] }),
      appliedIndex: 2,
    });
    await storage.persist({
      entries: [],
      snapshot: { metadata: { index: 10, term: 3, confState: CS } },
      hardState: { term: 3, vote: 0, commit: 10 },
      stateMachineWrites: ops({ clearFirst: true, puts: [[enc('new'), enc('2')]] }),
      appliedIndex: 10,
    });
    await storage.compactedLogCleared();
    expect(await logOnDisk(storage)).toEqual([]);
    const again = await reopen(storage, dir);
    expect(again.storage.raftStorage.firstIndex()).toBe(11);
    expect((await entriesOf(again.recovered)).map(([k]) => dec(k))).toEqual(['new']);
    expect(again.recovered.appliedIndex).toBe(10);
  });

  test('an installed snapshot deletes the entries beyond it with its own write, those below it afterwards', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({ entries: [1, 2, 3, 4, 5, 6].map((i) => entry(i, 1)), appliedIndex: 0 });
    await storage.persist({
      entries: [],
      snapshot: { metadata: { index: 4, term: 2, confState: CS } },
      hardState: { term: 2, vote: 0, commit: 4 },
      appliedIndex: 4,
    });
    // Entries 5 and 6 (of term 1) must not survive next to a snapshot of term 2: gone with the write.
    const afterWrite = await logOnDisk(storage);
    expect(afterWrite.filter((i) => i > 4)).toEqual([]);
    await storage.compactedLogCleared();
    expect(await logOnDisk(storage)).toEqual([]);
    const again = await reopen(storage, dir);
    expect([again.storage.raftStorage.firstIndex(), again.storage.raftStorage.lastIndex()]).toEqual([5, 4]);
  });

  test('a corrupt entry or a gap in the log refuses start-up with CORRUPT', async () => {
    const dir = tempDir();
    const { storage } = await openAt(dir);
    await storage.persist({ entries: [1, 2, 3].map((i) => entry(i, 1)), appliedIndex: 0 });
    const raw = await storage.database.get(logKey(2));
    const flipped = raw!.slice();
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0xff;
    await storage.database.put(logKey(2), flipped);
    await storage.close();
    open.splice(open.indexOf(storage), 1);
    const failure = await openAt(dir).catch((e: unknown) => e);
    expect(isCairnError(failure, ErrorCode.CORRUPT)).toBe(true);
    expect((failure as Error).message).toMatch(/entry 2 fails its checksum/);

    const dir2 = tempDir();
    const second = await openAt(dir2);
    await second.storage.persist({ entries: [1, 2, 3].map((i) => entry(i, 1)), appliedIndex: 0 });
    await second.storage.database.del(logKey(2));
    await second.storage.close();
    open.splice(open.indexOf(second.storage), 1);
    const gap = await openAt(dir2).catch((e: unknown) => e);
    expect((gap as Error).message).toMatch(/entry 2 is missing/);
  });
});
