/**
 * Proves the raft core safe and live under random faults: seeds 801..1200 of the
 * deterministic simulator (loss, duplication, reordering, partitions, crashes that lose
 * unsynced writes, snapshots, membership changes, transfers, leader churn) report no
 * violation of any checker. Four such files split the batch so vitest runs them in parallel.
 */
import { expect, test } from 'vitest';
import { runSeedRange } from './seeds.js';

test('seeds 801..1200 report no violations', () => {
  const { steps, failures } = runSeedRange(801, 400);
  expect(failures).toEqual([]);
  expect(steps).toBeGreaterThan(400 * 1000);
}, 300_000);
