/**
 * Proves the storage's Defragment support: sizeOnDiskBytes measures the data folder, and
 * compactAll gives back the space of overwritten and deleted state-machine values (the data
 * folder shrinks to a fraction after the values are overwritten and deleted), with the live
 * data still there after reopening.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { LevelStorage, type StateMachineOps } from '../../src/storage/level-storage.js';
import { entriesOf } from './entries.js';

const CS = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const dirs: string[] = [];
const opened: LevelStorage[] = [];

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openAt(dir: string) {
  const r = await LevelStorage.open(dir, {
    logger: silentLogger(),
    toOps: (w) => w as StateMachineOps,
    initialConfState: CS,
  });
  opened.push(r.storage);
  return r;
}

test('compactAll returns the space of overwritten and deleted values, and keeps live data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-defrag-'));
  dirs.push(dir);
  const { storage } = await openAt(dir);
  const empty = await storage.sizeOnDiskBytes();
  expect(empty).toBeGreaterThan(0);
  const key = (i: number) => new Uint8Array([7, i]);
  // 40 rounds of 20 keys x 4 KiB, each round overwriting the last: about 3 MiB written, 80 KiB live.
  for (let round = 0; round < 40; round++) {
    const puts: [Uint8Array, Uint8Array][] = [];
    for (let i = 0; i < 20; i++) puts.push([key(i), randomBytes(4096)]);
    await storage.persist({
      entries: [],
      appliedIndex: round + 1,
      stateMachineWrites: { clearFirst: false, puts, dels: [] },
    });
  }
  await storage.persist({
    entries: [],
    appliedIndex: 41,
    stateMachineWrites: { clearFirst: false, puts: [], dels: [key(0), key(1)] },
  });
  const full = await storage.sizeOnDiskBytes();
  expect(full).toBeGreaterThan(3 * 1024 * 1024);
  await storage.compactAll();
  const compacted = await storage.sizeOnDiskBytes();
  expect(compacted).toBeLessThan(full / 10);

  await storage.close();
  opened.splice(0);
  const { recovered } = await openAt(dir);
  expect(recovered.appliedIndex).toBe(41);
  expect(await entriesOf(recovered)).toHaveLength(18);
});
