/**
 * Copies the files the compiled server reads at run time but tsc does not emit (the
 * dashboard's HTML and script) into dist/, beside the compiled module that loads them, so
 * that dist/ runs on its own. Run by `npm run build` after tsc, and by the tests' global setup.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ASSETS = ['src/api/observability/dashboard.html', 'src/api/observability/dashboard.js'];

for (const asset of ASSETS) {
  const target = join(root, 'dist', asset);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(root, asset), target);
}
