// Proves the state machine stays deterministic and inside its layer, by reading its source: no clock, timer, randomness or process state, and imports only of its own files, src/common, the sorted-btree package, and node:module (to load that package).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

const MVCC_DIR = join(import.meta.dirname, '../../src/mvcc');
const FORBIDDEN_CALL =
  /\b(Date\.now|new Date|Math\.random|setTimeout|setInterval|setImmediate|queueMicrotask|performance\.now|process\.|crypto\.)/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('src/mvcc purity', () => {
  const files = sources(MVCC_DIR).map((f) => relative(MVCC_DIR, f));

  test('there is a state machine to check', () => {
    expect(files).toContain('store.ts');
    expect(files).toContain(join('codec', 'command-codec.ts'));
  });

  test.each(files)('%s reads no clock or randomness and imports only common/ and its own files', (file) => {
    const src = readFileSync(join(MVCC_DIR, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    expect(src).not.toMatch(FORBIDDEN_CALL);
    const depth = file.split(/[\\/]/).length - 1;
    const commonPrefix = `${'../'.repeat(depth + 1)}common/`;
    for (const m of src.matchAll(/(?:from\s+|import\()\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      const inside =
        spec.startsWith('./') || (depth > 0 && spec.startsWith('../') && !spec.startsWith('../../'));
      const allowed =
        inside ||
        spec.startsWith(commonPrefix) ||
        spec === 'sorted-btree' ||
        spec.startsWith('sorted-btree/') ||
        spec === 'node:module';
      expect(allowed, `${file} imports ${spec}`).toBe(true);
    }
  });
});
