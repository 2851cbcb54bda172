/**
 * Proves the simulator's checkers bite: with the test-only broken commit rule (entries of
 * earlier terms committed by counting replicas: the Raft paper's Figure 8 bug), these
 * seeds report a safety violation, while the very same seeds with the correct rule report
 * none. The seeds were found by `npm run sim -- --seeds 12000 --broken-commit`; if a change
 * to the simulator moves them, run that again and put the new ones here.
 */
import { describe, expect, test } from 'vitest';
import { runSeed } from './run.js';

const SEEDS_THAT_EXPOSE_FIGURE_8 = [2245, 8823, 9809];
const SAFETY = new Set([
  'ElectionSafety',
  'LeaderAppendOnly',
  'LogMatching',
  'LeaderCompleteness',
  'StateMachineSafety',
  'LinearizableRead',
]);

describe('a broken commit rule is caught', () => {
  test.each(SEEDS_THAT_EXPOSE_FIGURE_8)('seed %i', (seed) => {
    const broken = runSeed(seed, { brokenCommitRule: true });
    expect(broken.violations.some((v) => SAFETY.has(v.property))).toBe(true);
    const correct = runSeed(seed);
    expect(correct.violations).toEqual([]);
  });
});
