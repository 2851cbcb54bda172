// Proves snapshot -> restore gives back an identical store (same answers to a battery of ranges at many revisions, same hashes, same record stream, same applied index) and that it keeps behaving identically under further writes; and that a damaged snapshot is refused as CORRUPT.
import { describe, expect, it } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { MvccStore } from '../../src/mvcc/index.js';
import { newStore } from './support.js';

/** The workload attaches keys to leases it never granted; the restored store must accept them as the original does. */
const ANY_LEASE = { leaseExists: () => true };

import { readBattery, workload } from './workload.js';

function built(seed: number, count: number): MvccStore {
  const store = newStore();
  for (const c of workload(seed, count, () => store)) store.apply(c);
  return store;
}

describe('snapshot and restore', () => {
  it('an empty store round-trips', () => {
    const { store, appliedIndex } = MvccStore.restore(newStore().snapshot(0));
    expect(appliedIndex).toBe(0);
    expect(store.currentRevision).toBe(1);
    expect(readBattery(store)).toEqual(readBattery(newStore()));
  });

  for (const seed of [1, 2, 3]) {
    it(`restores an identical store (seed ${seed})`, () => {
      const original = built(seed, 400);
      expect(original.compactedRevision).toBeGreaterThan(0);
      const { store: restored, appliedIndex } = MvccStore.restore(original.snapshot(12345), ANY_LEASE);
      expect(appliedIndex).toBe(12345);
      expect(readBattery(restored)).toEqual(readBattery(original));
      expect(restored.hashKV()).toEqual(original.hashKV());
      expect([...restored.records()]).toEqual([...original.records()]);
      // And the two keep agreeing on the same future.
      for (const c of workload(seed + 100, 200, () => original)) {
        const fromRestored = restored.apply(c);
        expect(fromRestored).toEqual(original.apply(c));
      }
      expect(readBattery(restored)).toEqual(readBattery(original));
    });
  }

  it('a snapshot of a restored store is byte-identical', () => {
    const original = built(9, 300);
    const bytes = original.snapshot(7);
    expect(MvccStore.restore(bytes).store.snapshot(7)).toEqual(bytes);
  });

  it('refuses a flipped bit, a truncated snapshot and foreign bytes', () => {
    const bytes = built(4, 100).snapshot(1);
    const flipped = bytes.slice();
    flipped[Math.floor(flipped.length / 2)]! ^= 0x10;
    for (const bad of [
      flipped,
      bytes.subarray(0, bytes.length - 3),
      new TextEncoder().encode('not a snapshot at all'),
    ]) {
      let caught: unknown;
      try {
        MvccStore.restore(bad);
      } catch (err) {
        caught = err;
      }
      expect(isCairnError(caught, ErrorCode.CORRUPT)).toBe(true);
    }
  });
});
