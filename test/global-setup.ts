/**
 * Vitest global setup: when the tests run compiled code (test/support/entry.ts), compiles the
 * repository into dist/ once before any test file (as `npm run build` does; incremental, so
 * an unchanged tree takes a few seconds), and again before each rerun in watch mode, so
 * member processes never run a stale build. Type errors are reported but do not stop the
 * run (tsc still emits, and vitest itself never type-checks); a failure to emit does.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { REPO_ROOT } from '../cluster/processes.js';
import { TEST_ENTRY } from './support/entry.js';

/** tsc's exit status when it found errors but still wrote its output. */
const EMITTED_WITH_ERRORS = 2;

/** Compiles into dist/ and copies the assets the compiled server reads; throws if nothing was emitted. */
function build(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--incremental'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (compiled.status === EMITTED_WITH_ERRORS) {
    console.warn(`global setup: tsc reported type errors (dist/ was still built):\n${compiled.stdout}`);
  } else if (compiled.status !== 0) {
    throw new Error(
      `global setup: tsc failed (${compiled.status ?? compiled.signal}):\n${compiled.stdout}${compiled.stderr}`,
    );
  }
  const assets = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'copy-assets.mjs')], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (assets.status !== 0) throw new Error(`global setup: copying assets failed:\n${assets.stderr}`);
}

/** Builds dist/ before the first test file and before every watch-mode rerun. */
export default function setup(project: TestProject): void {
  if (TEST_ENTRY !== 'dist') return;
  build();
  project.onTestsRerun(() => build());
}
