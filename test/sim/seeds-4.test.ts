/**
 * Proves the raft core safe and live under random faults: seeds 1201..1600 of the
 * deterministic simulator (loss, duplication, reordering, partitions, crashes that lose
 * unsynced writes, snapshots, membership changes, transfers, leader churn) report no
 * violation of any checker. Four such files split the batch so vitest runs them in parallel.
 */
import { expect, test } from 'vitest';
import { runSeedRange } from './seeds.js';

test('seeds 1201..1600 report no violations', () => {
  const { steps, failures } = runSeedRange(1201, 400);
  expect(failures).toEqual([]);
  expect(steps).toBeGreaterThan(400 * 1000);
}, 300_000);
