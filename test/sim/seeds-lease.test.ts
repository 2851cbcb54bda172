/**
 * Proves lease-based reads safe under the simulator's faults: seeds 1..1000 with every
 * member serving reads under its leader lease (check-quorum on) report no violation, and
 * in particular no leader of a later term while an earlier leader still holds its lease
 * (LeaseExclusion) and no read that misses an acknowledged write.
 */
import { expect, test } from 'vitest';
import { runSeedRange } from './seeds.js';

test('seeds 1..1000 with lease-based reads report no violations', () => {
  const { steps, failures } = runSeedRange(1, 1000, false, true);
  expect(failures).toEqual([]);
  expect(steps).toBeGreaterThan(1000 * 1000);
}, 300_000);
