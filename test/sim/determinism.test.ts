/**
 * Proves the simulator is deterministic: the same seed twice yields the same number of
 * steps, the same trace and the same final state hash; different seeds differ.
 */
import { expect, test } from 'vitest';
import { runSeed } from './run.js';

test('the same seed replays exactly', () => {
  for (const seed of [3, 77, 1234]) {
    const a = runSeed(seed, { tracing: true });
    const b = runSeed(seed, { tracing: true });
    expect(b.stateHash).toBe(a.stateHash);
    expect(b.steps).toBe(a.steps);
    expect(b.trace).toEqual(a.trace);
    expect(a.trace!.length).toBeGreaterThan(100);
  }
});

test('different seeds give different runs', () => {
  const hashes = new Set([1, 2, 3, 4, 5].map((seed) => runSeed(seed).stateHash));
  expect(hashes.size).toBe(5);
});
