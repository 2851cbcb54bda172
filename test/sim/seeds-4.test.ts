/**
 * Proves the raft core safe and live under random faults: seeds 3001..4000 of the
 * deterministic simulator (loss, duplication, reordering, partitions, crashes that lose
 * unsynced writes, snapshots, membership changes, transfers, leader churn) report no
 * violation of any checker. Four such files split the batch so vitest runs them in parallel.
 */
import { expect, test } from 'vitest';
import { runSeedRange } from './seeds.js';

test('seeds 3001..4000 report no violations', () => {
  const { steps, failures } = runSeedRange(3001, 1000);
  expect(failures).toEqual([]);
  expect(steps).toBeGreaterThan(1000 * 1000);
}, 300_000);
