/**
 * Proves that a data folder LevelDB cannot open (manifest missing, CURRENT garbled) or that
 * fails Cairn's own checks makes LevelStorage.open throw a typed error that names the
 * folder, LevelDB's own reason and what to do — not LevelDB's bare "Database failed to open".
 * Each case writes a small store, closes it, damages one file and opens it again.
 */
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { LevelStorage, type StateMachineOps } from '../../src/storage/level-storage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const open = (dir: string) =>
  LevelStorage.open(dir, { logger: silentLogger(), toOps: (w) => w as StateMachineOps });

async function writtenStore(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-unreadable-'));
  dirs.push(dir);
  const { storage } = await open(dir);
  await storage.persist({
    hardState: { term: 1, vote: 1, commit: 1 },
    entries: [{ index: 1, term: 1, type: 0, data: new Uint8Array([1, 2, 3]) }],
    stateMachineWrites: { clearFirst: false, puts: [[new Uint8Array([7]), new Uint8Array([8])]], dels: [] },
    appliedIndex: 1,
  });
  await storage.close();
  return dir;
}

async function openError(dir: string): Promise<unknown> {
  try {
    const { storage } = await open(dir);
    await storage.close();
  } catch (err) {
    return err;
  }
  throw new Error('the damaged folder opened');
}

describe('LevelStorage.open on a damaged folder', () => {
  it('names the folder and the missing manifest', async () => {
    const dir = await writtenStore();
    for (const f of readdirSync(dir)) if (f.startsWith('MANIFEST-')) unlinkSync(join(dir, f));
    const err = await openError(dir);
    expect(isCairnError(err, ErrorCode.DATA_DIR_UNREADABLE)).toBe(true);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toMatch(/MANIFEST-\d+: No such file/);
    expect((err as Error).message).toContain('--initial-cluster-state existing');
  });

  it('names the folder when CURRENT is garbled', async () => {
    const dir = await writtenStore();
    writeFileSync(join(dir, 'CURRENT'), '');
    const err = await openError(dir);
    expect(isCairnError(err, ErrorCode.DATA_DIR_UNREADABLE)).toBe(true);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toContain('CURRENT');
  });

  it('keeps CORRUPT for its own checks, with the folder named', async () => {
    const dir = await writtenStore();
    // A log entry the hard state commits goes missing: Cairn's own check (CORRUPT) refuses.
    const { storage: s2 } = await open(dir);
    await s2.database.del(new Uint8Array([0x4c, 0, 0, 0, 0, 0, 0, 0, 1])); // log entry 1, under a commit of 1
    await s2.close();
    const err = await openError(dir);
    expect(isCairnError(err, ErrorCode.CORRUPT)).toBe(true);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toContain('commits index 1');
  });
});
