/**
 * Proves the fault-injection hooks of src/node/fault-hooks.ts: without their environment
 * variable they do nothing (no hook, Date.now untouched); with it, the slow-disk hook waits
 * the milliseconds written in its file before a synced write (through a real LevelStorage)
 * and follows rewrites of the file, the clock hook shifts Date.now by the file's offset,
 * follows jumps both ways, and is undone cleanly, and the load hold resolves only once its
 * file reads 0. Delays are checked as lower bounds only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRootLogger } from '../../src/common/logger.js';
import {
  CLOCK_OFFSET_FILE_ENV,
  FAULT_FILE_REFRESH_MS,
  installClockOffsetFromEnv,
  LOAD_HOLD_FILE_ENV,
  loadHoldFromEnv,
  SYNC_DELAY_FILE_ENV,
  syncDelayHookFromEnv,
} from '../../src/node/fault-hooks.js';
import { LevelStorage } from '../../src/storage/level-storage.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-fault-hooks-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

describe('slow-disk hook', () => {
  it('is absent without its environment variable', () => {
    expect(syncDelayHookFromEnv({})).toBeUndefined();
  });

  it('delays synced writes by the file content, and follows rewrites of the file', async () => {
    const dir = tempDir();
    const file = join(dir, 'sync-delay');
    const hook = syncDelayHookFromEnv({ [SYNC_DELAY_FILE_ENV]: file });
    expect(hook).toBeDefined();
    // No file yet: no delay (an upper bound this loose cannot flake: 5 s).
    expect(await timed(() => hook!())).toBeLessThan(5000);
    writeFileSync(file, '300');
    await sleep(FAULT_FILE_REFRESH_MS * 3);
    const { storage } = await LevelStorage.open(join(dir, 'db'), {
      logger: createRootLogger({ name: 't', level: 'silent' }),
      toOps: () => ({ clearFirst: false, puts: [], dels: [] }),
      initialConfState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      beforeSync: hook!,
    });
    try {
      const synced = await timed(() =>
        storage.persist({ hardState: { term: 1, vote: 1, commit: 0 }, entries: [], appliedIndex: 0 }),
      );
      expect(synced).toBeGreaterThanOrEqual(290);
    } finally {
      await storage.close();
    }
    writeFileSync(file, '0');
    await sleep(FAULT_FILE_REFRESH_MS * 3);
    expect(await timed(() => hook!())).toBeLessThan(290);
  });
});

describe('load hold', () => {
  it('is absent without its environment variable', () => {
    expect(loadHoldFromEnv({})).toBeUndefined();
  });

  it('holds while its file reads other than 0, and lets go once it reads 0', async () => {
    const file = join(tempDir(), 'load-hold');
    writeFileSync(file, '1');
    const hold = loadHoldFromEnv({ [LOAD_HOLD_FILE_ENV]: file });
    expect(hold).toBeDefined();
    let released = false;
    const waiting = hold!().then(() => {
      released = true;
    });
    await sleep(FAULT_FILE_REFRESH_MS * 5);
    expect(released).toBe(false);
    writeFileSync(file, '0');
    await waiting;
    expect(released).toBe(true);
    // An absent file holds nothing.
    rmSync(file);
    await hold!();
  });
});

describe('clock hook', () => {
  it('leaves Date.now alone without its environment variable', () => {
    const before = Date.now;
    const undo = installClockOffsetFromEnv({});
    expect(Date.now).toBe(before);
    undo();
  });

  it('shifts Date.now by the offset in the file, both ways, and undoes it', async () => {
    const file = join(tempDir(), 'clock-offset');
    writeFileSync(file, String(10 * 60_000));
    const realNow = Date.now;
    const undo = installClockOffsetFromEnv({ [CLOCK_OFFSET_FILE_ENV]: file });
    try {
      expect(Date.now() - realNow()).toBeGreaterThanOrEqual(10 * 60_000 - 1000);
      writeFileSync(file, String(-5 * 60_000));
      await sleep(FAULT_FILE_REFRESH_MS * 3);
      expect(realNow() - Date.now()).toBeGreaterThanOrEqual(5 * 60_000 - 1000);
    } finally {
      undo();
    }
    expect(Date.now).toBe(realNow);
  });
});
