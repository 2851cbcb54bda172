/**
 * Proves the table check finds damage LevelDB itself would not: a real LevelDB folder's
 * tables, holding blocks stored plain and snappy-compressed, pass; one flipped byte anywhere
 * in a table's blocks, a truncated table or a lost magic number is found; LevelStorage.open
 * then refuses with CORRUPT naming the folder and the table, and a folder whose LOCK another
 * open database holds is reported as in use, not as damaged. Only the tables the MANIFEST
 * names are checked (a crash can leave others), and each of them must be there.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { LevelStorage, type StateMachineOps } from '../../src/storage/level-storage.js';
import { LevelFormatDamage } from '../../src/storage/leveldb-format.js';
import { liveTableNumbers } from '../../src/storage/leveldb-manifest.js';
import { checkTable, checkTables } from '../../src/storage/table-check.js';
import { SimPrng } from '../sim/prng.js';

const FOOTER_BYTES = 48;
const dirs: string[] = [];
const freshDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-tables-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const tablesOf = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.ldb'))
    .map((f) => join(dir, f));

/** Copies a folder's files into a new folder. */
function copyOf(dir: string): string {
  const to = freshDir();
  for (const f of readdirSync(dir)) if (f !== 'LOCK') writeFileSync(join(to, f), readFileSync(join(dir, f)));
  return to;
}

/** What LevelStorage.open throws for a folder (fails the test if it opens). */
const openError = (dir: string): Promise<unknown> =>
  LevelStorage.open(dir, { logger: silentLogger(), toOps: (w) => w as StateMachineOps }).then(
    async ({ storage }) => {
      await storage.close();
      throw new Error(`${dir} opened`);
    },
    (e: unknown) => e,
  );

const damaged = (file: Buffer): unknown => {
  try {
    checkTable(file);
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('the LevelDB table check', () => {
  let store: string;

  beforeAll(async () => {
    // Compressible values give snappy blocks, random ones plain blocks; compacting the
    // whole range writes everything into tables.
    store = freshDir();
    const db = new Level<string, Buffer>(store, { valueEncoding: 'buffer' });
    await db.open();
    for (let i = 0; i < 4000; i++)
      await db.put(`k/${String(i).padStart(5, '0')}`, i % 2 ? Buffer.alloc(300, i % 7) : randomBytes(300));
    // `level` is classic-level here, whose compactRange its typings do not show.
    await (db as unknown as { compactRange(from: string, to: string): Promise<void> }).compactRange(
      '\x00',
      '\xff',
    );
    await db.close();
  });

  it('passes every block of sound tables, plain and compressed', async () => {
    const tables = tablesOf(store);
    expect(tables.length).toBeGreaterThan(0);
    const blocks = tables.flatMap((t) => checkTable(readFileSync(t)));
    expect(blocks.length).toBeGreaterThan(10);
    expect(blocks.some((b) => b.compression === 'snappy')).toBe(true);
    expect(blocks.some((b) => b.compression === 'none')).toBe(true);
    await expect(checkTables(store)).resolves.toBeUndefined();
    await expect(checkTables(join(store, 'missing'))).resolves.toBeUndefined();
  });

  it('finds one flipped byte anywhere in a table before its footer', () => {
    const prng = new SimPrng(77);
    for (const t of tablesOf(store)) {
      const sound = readFileSync(t);
      // Every block and trailer together cover every byte before the footer.
      const covered = checkTable(sound).reduce((n, b) => n + b.size + 5, 0);
      expect(covered).toBe(sound.length - FOOTER_BYTES);
      for (let i = 0; i < 300; i++) {
        const file = Buffer.from(sound);
        const at = prng.nextInt(sound.length - FOOTER_BYTES);
        file[at] = file[at]! ^ (1 + prng.nextInt(255));
        expect(damaged(file), `byte ${at} of ${t}`).toBeInstanceOf(LevelFormatDamage);
      }
    }
  });

  it('finds a truncated table and a lost magic number', () => {
    const sound = readFileSync(tablesOf(store)[0]!);
    for (const cut of [0, 20, Math.floor(sound.length / 2), sound.length - 1])
      expect(damaged(sound.subarray(0, cut)), `cut at ${cut}`).toBeInstanceOf(LevelFormatDamage);
    const noMagic = Buffer.from(sound);
    noMagic[noMagic.length - 3] = noMagic[noMagic.length - 3]! ^ 0x10;
    expect(String(damaged(noMagic))).toContain('magic');
  });

  it('makes LevelStorage.open refuse a damaged table with CORRUPT, naming the folder and the table', async () => {
    const dir = copyOf(store);
    const table = tablesOf(dir)[0]!;
    const bytes = readFileSync(table);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(table, bytes);
    const err = await openError(dir);
    expect(isCairnError(err, ErrorCode.CORRUPT)).toBe(true);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toContain(
      `table ${table.slice(dir.length + 1)}: the block at byte 0 fails its checksum`,
    );
  });

  it('reports a folder another open database holds as in use, not as damaged', async () => {
    const dir = copyOf(store);
    const holder = new Level(dir);
    await holder.open();
    try {
      // A table the holder replaces while it is read looks damaged.
      const table = tablesOf(dir)[0]!;
      writeFileSync(table, Buffer.alloc(100));
      const err = await openError(dir);
      expect(isCairnError(err, ErrorCode.DATA_DIR_UNREADABLE)).toBe(true);
      expect((err as Error).message).toContain('is another member running with it?');
    } finally {
      await holder.close();
    }
  });

  it('checks only the tables the MANIFEST names, and misses none of them', async () => {
    const live = await liveTableNumbers(store);
    const onDisk = tablesOf(store).map((t) => Number(/(\d+)\.ldb$/.exec(t)![1]));
    expect(live && [...live].sort()).toEqual(onDisk.sort());
    // A table a crash cut short during a compaction is named by no version: LevelDB deletes it.
    const dir = copyOf(store);
    writeFileSync(join(dir, '999999.ldb'), Buffer.alloc(100));
    await expect(checkTables(dir)).resolves.toBeUndefined();
    // A table the MANIFEST names must be there.
    rmSync(tablesOf(dir).find((t) => !t.endsWith('999999.ldb'))!);
    await expect(checkTables(dir)).rejects.toThrow(/table \d{6}\.ldb is missing/);
  });

  it('opens a member whose crash left a half-written table behind', async () => {
    const dir = freshDir();
    const opts = { logger: silentLogger(), toOps: (w: unknown) => w as StateMachineOps };
    const first = await LevelStorage.open(dir, opts);
    await first.storage.persist({
      hardState: { term: 1, vote: 1, commit: 1 },
      entries: [{ index: 1, term: 1, type: 0, data: new Uint8Array([1, 2, 3]) }],
      stateMachineWrites: { clearFirst: false, puts: [[new Uint8Array([7]), new Uint8Array([8])]], dels: [] },
      appliedIndex: 1,
    });
    await first.storage.compactAll();
    await first.storage.close();
    expect(tablesOf(dir).length).toBeGreaterThan(0);
    const leftover = join(dir, '999999.ldb');
    writeFileSync(leftover, Buffer.alloc(4096));
    const again = await LevelStorage.open(dir, opts);
    await again.storage.close();
    expect(again.recovered.appliedIndex).toBe(1);
    expect(readdirSync(dir)).not.toContain('999999.ldb'); // LevelDB deleted it
  });

  it('leaves a folder whose CURRENT or MANIFEST is damaged to LevelDB', async () => {
    const dir = copyOf(store);
    const manifest = readdirSync(dir).find((f) => f.startsWith('MANIFEST-'))!;
    const bytes = readFileSync(join(dir, manifest));
    bytes[10] = bytes[10]! ^ 0x40;
    writeFileSync(join(dir, manifest), bytes);
    expect(await liveTableNumbers(dir)).toBeUndefined();
    writeFileSync(join(dir, 'CURRENT'), 'garbage\n');
    expect(await liveTableNumbers(dir)).toBeUndefined();
    expect(await liveTableNumbers(join(dir, 'missing'))).toBeUndefined();
  });
});
