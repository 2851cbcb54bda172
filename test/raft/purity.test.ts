/**
 * Proves the raft core stays pure, by reading its source: no module imports node:
 * builtins, I/O or logging libraries, and nothing reads a clock, sets a timer or calls
 * Math.random. The simulator's determinism depends on it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const RAFT_DIR = join(import.meta.dirname, '../../src/raft');
const FORBIDDEN_IMPORT =
  /from\s+['"](node:[^'"]+|fs|net|http2?|os|path|crypto|child_process|timers|worker_threads|@grpc\/[^'"]+|level|classic-level|pino)['"]/;
const FORBIDDEN_CALL =
  /\b(Date\.now|new Date|Math\.random|setTimeout|setInterval|setImmediate|performance\.now|process\.)/;

describe('src/raft purity', () => {
  const files = readdirSync(RAFT_DIR).filter((f) => f.endsWith('.ts'));

  test('there is a core to check', () => {
    expect(files).toContain('raft.ts');
  });

  test.each(files)('%s imports no I/O and reads no clock or randomness', (file) => {
    // Comments may name what is forbidden; only code counts.
    const src = readFileSync(join(RAFT_DIR, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    expect(src).not.toMatch(FORBIDDEN_IMPORT);
    expect(src).not.toMatch(FORBIDDEN_CALL);
    for (const m of src.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      // Only sibling modules and src/common may be imported.
      expect(spec.startsWith('./') || spec.startsWith('../common/')).toBe(true);
    }
  });
});
