/** Runs a range of seeds and collects failures, for the seed-batch test files. */
import { type RunResult, runSeed } from './run.js';

/** Runs seeds [from, from + count) and returns the failing ones with their first violation. */
export function runSeedRange(
  from: number,
  count: number,
  brokenCommitRule = false,
  leaseReads = false,
): { steps: number; failures: string[] } {
  let steps = 0;
  const failures: string[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const r: RunResult = runSeed(seed, { brokenCommitRule, leaseReads });
    steps += r.steps;
    if (r.violations.length > 0) {
      const v = r.violations[0]!;
      failures.push(
        `seed ${seed}: ${v.property}: ${v.message} (replay: npm run sim -- --seed ${seed}${leaseReads ? ' --lease-reads' : ''})`,
      );
    }
  }
  return { steps, failures };
}
