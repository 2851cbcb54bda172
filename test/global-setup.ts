/**
 * Vitest global setup: when the tests run compiled code (test/support/entry.ts), runs
 * `npm run build` once before any test file (incremental, so an unchanged tree takes a few
 * seconds), and again before each rerun in watch mode, so member processes never run a
 * stale build. A build that fails (type errors included) stops the run with tsc's output.
 */
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { REPO_ROOT } from '../cluster/processes.js';
import { TEST_ENTRY } from './support/entry.js';

/** Runs `npm run build` (tsc into dist/, then the assets tsc does not emit); throws with its output if it fails. */
function build(): void {
  const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (built.status !== 0)
    throw new Error(
      `global setup: npm run build failed (${built.status ?? built.signal}):\n${built.stdout}${built.stderr}`,
    );
}

/** Builds dist/ before the first test file and before every watch-mode rerun. */
export default function setup(project: TestProject): void {
  if (TEST_ENTRY !== 'dist') return;
  build();
  project.onTestsRerun(() => build());
}
