/**
 * The simulator's command line: `--seeds N` runs seeds (from --start, default 1) and prints
 * one summary line; `--seed S` replays one run with its trace and final state hash;
 * `--broken-commit` runs with the test-only broken commit rule (the checkers must object);
 * `--figure8` forces five members with leader churn, the schedule that exposes it fastest.
 */
import { parseArgs } from 'node:util';
import { runSeed } from './run.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    start: { type: 'string', default: '1' },
    'broken-commit': { type: 'boolean', default: false },
    figure8: { type: 'boolean', default: false },
    'lease-reads': { type: 'boolean', default: false },
    'fault-ticks': { type: 'string', default: '300' },
    quiet: { type: 'boolean', default: false },
  },
});

const brokenCommitRule = values['broken-commit'] === true;
const figure8 = values.figure8 === true;
const faultTicks = Number(values['fault-ticks']);
const leaseReads = values['lease-reads'] === true;

if (values.seed !== undefined) {
  const seed = Number(values.seed);
  const r = runSeed(seed, { brokenCommitRule, tracing: true, faultTicks, figure8, leaseReads });
  if (!values.quiet) for (const line of r.trace ?? []) console.log(line);
  console.log(
    `seed=${seed} members=${r.clusterSize} steps=${r.steps} violations=${r.violations.length} hash=${r.stateHash}`,
  );
  for (const v of r.violations) console.log(`  ${v.property}: ${v.message}`);
  process.exit(r.violations.length > 0 ? 1 : 0);
}

const count = Number(values.seeds ?? '100');
const start = Number(values.start);
const began = performance.now();
let steps = 0;
let violations = 0;
const failing: number[] = [];
for (let seed = start; seed < start + count; seed++) {
  const r = runSeed(seed, { brokenCommitRule, faultTicks, figure8, leaseReads });
  steps += r.steps;
  if (r.violations.length > 0) {
    violations += r.violations.length;
    failing.push(seed);
    const v = r.violations[0]!;
    console.log(
      `seed ${seed}: ${v.property}: ${v.message}   (replay: npm run sim -- --seed ${seed}${brokenCommitRule ? ' --broken-commit' : ''}${figure8 ? ' --figure8' : ''}${leaseReads ? ' --lease-reads' : ''})`,
    );
  }
}
const seconds = (performance.now() - began) / 1000;
console.log(
  `seeds=${count} steps=${steps} violations=${violations} failing_seeds=${failing.length} seconds=${seconds.toFixed(1)} seeds_per_second=${(count / seconds).toFixed(1)}`,
);
process.exit(violations > 0 ? 1 : 0);
