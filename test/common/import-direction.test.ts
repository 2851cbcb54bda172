/**
 * Proves the imports run the way DESIGN.md draws them, by reading every source file:
 * common <- raft <- storage, transport <- node <- api <- main; mvcc and auth depend on common only;
 * coordination on common and mvcc's request types (its KV interface), never on raft or node;
 * client never imports server code. A file that imports against the direction fails here,
 * with static imports and dynamic import() alike. The one exception is listed in EXCEPTIONS.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

/** Which src/ folders each folder may import from (besides itself and npm packages). */
const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  raft: ['common'],
  mvcc: ['common'],
  auth: ['common'],
  storage: ['common', 'raft'],
  transport: ['common', 'raft'],
  node: ['common', 'raft', 'storage', 'transport', 'mvcc', 'auth'],
  coordination: ['common', 'mvcc'],
  api: ['common', 'raft', 'storage', 'transport', 'mvcc', 'auth', 'node', 'coordination'],
  client: ['common'],
  cli: ['common', 'client'],
};

/**
 * Single files allowed one import against the rules, and why. `cairnctl snapshot restore`
 * writes a member's data folder offline, as etcdctl 3.4's did: it loads the server's own
 * restore code (on demand, so no other command loads LevelDB) instead of a second copy.
 */
const EXCEPTIONS: Record<string, readonly string[]> = {
  'cli/commands/snapshot-restore.ts': ['../../node/snapshot-restore.js'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('import direction', () => {
  const files = sourceFiles(SRC).filter((f) => relative(SRC, f).includes('/'));

  test('there are sources to check', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  test.each(files.map((f) => relative(SRC, f)))('%s', (rel) => {
    const folder = rel.split('/')[0]!;
    const allowed = ALLOWED[folder];
    expect(allowed, `folder ${folder} has no rule`).toBeDefined();
    const src = readFileSync(join(SRC, rel), 'utf8');
    for (const m of src.matchAll(/(?:from\s+|import\(\s*)['"](\.\.?\/[^'"]+)['"]/g)) {
      if (EXCEPTIONS[rel]?.includes(m[1]!)) continue;
      const target = relative(SRC, join(SRC, rel, '..', m[1]!)).split('/')[0]!;
      if (target === folder) continue;
      expect(allowed, `${rel} imports ${m[1]}`).toContain(target);
    }
  });
});
