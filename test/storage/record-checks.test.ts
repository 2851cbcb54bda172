/**
 * Proves that a data folder LevelDB reads back without complaint but whose content differs
 * from what Cairn wrote is refused: a flipped bit in a state-machine value, a value moved under
 * another key, a damaged applied index (each CORRUPT, naming the record); and that the format
 * version is written into a new folder, and a folder without it (an older format) or with
 * another version is refused with DATA_DIR_UNREADABLE instead of being misread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, test } from 'vitest';
import { type CairnError, ErrorCode } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { Prefix, singleKey, stateMachineKey } from '../../src/storage/layout.js';
import { LevelStorage, type StateMachineOps } from '../../src/storage/level-storage.js';
import { entriesOf } from './entries.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const open = (dir: string) =>
  LevelStorage.open(dir, { logger: silentLogger(), toOps: (w) => w as StateMachineOps });

/** A folder holding two state-machine records at applied index 7, closed. */
async function folderWithData(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-records-'));
  dirs.push(dir);
  const { storage } = await open(dir);
  const writes: StateMachineOps = {
    clearFirst: false,
    puts: [
      [enc('alpha'), enc('value of alpha')],
      [enc('beta'), enc('value of beta')],
    ],
    dels: [],
  };
  await storage.persist({ entries: [], stateMachineWrites: writes, appliedIndex: 7 });
  await storage.close();
  return dir;
}

/** Opens the folder with LevelDB itself and lets edit change it (what a bad disk or a stray tool would do). */
async function tamper(
  dir: string,
  edit: (db: Level<Uint8Array, Uint8Array>) => Promise<void>,
): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    await edit(db);
  } finally {
    await db.close();
  }
}

/** The error starting on the folder stops with: opening it, then reading its records. */
async function refusal(dir: string): Promise<CairnError> {
  const err = await open(dir).then(
    async (r) => {
      try {
        await entriesOf(r.recovered);
      } catch (e) {
        return e as CairnError;
      } finally {
        await r.storage.close();
      }
      throw new Error('the folder was opened and read');
    },
    (e: CairnError) => e,
  );
  return err;
}

describe('stored records are checked on load', () => {
  test('an untouched folder loads its records and applied index', async () => {
    const dir = await folderWithData();
    const { storage, recovered } = await open(dir);
    const entries = await entriesOf(recovered);
    await storage.close();
    expect(recovered.appliedIndex).toBe(7);
    expect(entries.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()])).toEqual([
      ['alpha', 'value of alpha'],
      ['beta', 'value of beta'],
    ]);
  });

  test('a flipped bit in a value is CORRUPT, naming the key', async () => {
    const dir = await folderWithData();
    await tamper(dir, async (db) => {
      const key = stateMachineKey(enc('beta'));
      const v = Buffer.from((await db.get(key))!);
      v[v.length - 1] = v[v.length - 1]! ^ 0x01;
      await db.put(key, v);
    });
    const err = await refusal(dir);
    expect(err.code).toBe(ErrorCode.CORRUPT);
    expect(err.message).toContain('"Kbeta" fails its checksum');
  });

  test('a value moved under another key is CORRUPT', async () => {
    const dir = await folderWithData();
    await tamper(dir, async (db) => {
      const alpha = (await db.get(stateMachineKey(enc('alpha'))))!;
      await db.put(stateMachineKey(enc('beta')), alpha);
    });
    expect((await refusal(dir)).code).toBe(ErrorCode.CORRUPT);
  });

  test('a damaged applied index is CORRUPT', async () => {
    const dir = await folderWithData();
    await tamper(dir, async (db) => {
      const key = singleKey(Prefix.applied);
      const v = Buffer.from((await db.get(key))!);
      v[v.length - 1] = v[v.length - 1]! ^ 0x04;
      await db.put(key, v);
    });
    const err = await refusal(dir);
    expect(err.code).toBe(ErrorCode.CORRUPT);
    expect(err.message).toContain('"A" fails its checksum');
  });
});

describe('the data format version', () => {
  test('a new folder gets the version, and a folder without it that holds data is refused', async () => {
    const dir = await folderWithData();
    await tamper(dir, async (db) => {
      expect(Buffer.from((await db.get(singleKey(Prefix.formatVersion)))!).toString()).toBe('4');
      await db.del(singleKey(Prefix.formatVersion));
    });
    const err = await refusal(dir);
    expect(err.code).toBe(ErrorCode.DATA_DIR_UNREADABLE);
    expect(err.message).toContain(
      'no format version record (written by a Cairn older than data format 2, or damaged)',
    );
    expect(err.message).toContain(dir);
  });

  test('a folder of a version this Cairn does not read is refused, naming the versions', async () => {
    for (const other of ['1', '5']) {
      const dir = await folderWithData();
      await tamper(dir, (db) => db.put(singleKey(Prefix.formatVersion), enc(other)));
      const err = await refusal(dir);
      expect(err.code).toBe(ErrorCode.DATA_DIR_UNREADABLE);
      expect(err.message).toContain(`version "${other}"; this Cairn reads versions 2, 3 and 4`);
    }
  });

  test('a folder of version 2 or 3 opens, keeps its data and is marked 4, so an older Cairn refuses it by its version', async () => {
    for (const older of ['2', '3']) {
      const dir = await folderWithData();
      await tamper(dir, (db) => db.put(singleKey(Prefix.formatVersion), enc(older)));
      const { storage, recovered } = await open(dir);
      expect(recovered.appliedIndex).toBe(7);
      await storage.close();
      await tamper(dir, async (db) => {
        expect(Buffer.from((await db.get(singleKey(Prefix.formatVersion)))!).toString()).toBe('4');
        expect(Buffer.from((await db.get(stateMachineKey(enc('alpha'))))!).byteLength).toBeGreaterThan(0);
      });
    }
  });
});
