/**
 * Which build of Cairn the tests' child processes run (members, cairnctl, examples, bench):
 * the compiled JavaScript under dist/, which test/global-setup.ts builds once before any test
 * file, or the TypeScript source through tsx. Compiled starts a process in about half the CPU
 * time, and the suite starts hundreds of them. Switch back to 'source' here, in one line.
 */
import { join } from 'node:path';
import { REPO_ROOT, type ServerEntry } from '../../cluster/processes.js';

/** The entry every test's member processes and CLI runs use. */
export const TEST_ENTRY: ServerEntry = 'dist';

/**
 * The node arguments that run one of the repository's TypeScript programs (`relativePath`
 * from the repository root, e.g. 'src/cli/main.ts') as TEST_ENTRY says: its compiled twin
 * under dist/, or the source through tsx.
 */
export function programArgs(relativePath: string): string[] {
  if (TEST_ENTRY === 'source') return ['--import', 'tsx', join(REPO_ROOT, relativePath)];
  return [join(REPO_ROOT, 'dist', relativePath.replace(/\.ts$/, '.js'))];
}
