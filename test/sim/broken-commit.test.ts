/**
 * Proves the simulator's checkers bite: with the test-only broken commit rule (entries of
 * earlier terms committed by counting replicas: the Raft paper's Figure 8 bug), these
 * seeds report a safety violation, while the very same seeds with the correct rule report
 * none. The seeds were found by `npm run sim -- --seeds 12000 --broken-commit` (and the same
 * with `--start 12001`); if a change to the simulator or to the core's message flow moves
 * them, run that again and put the new ones here. (Coalescing a Ready's messages moved them:
 * fewer, larger appends make the schedule rarer, 3 seeds in 24,000 instead of 3 in 12,000.)
 */
import { describe, expect, test } from 'vitest';
import { runSeed } from './run.js';

const SEEDS_THAT_EXPOSE_FIGURE_8 = [9166, 14796, 21016];
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
