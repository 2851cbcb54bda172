// Proves snapshot -> restore gives back an identical store (same answers to a battery of ranges at many revisions, same hashes, same record stream, same applied index) and that it keeps behaving identically under further writes; and that a damaged snapshot is refused as CORRUPT.
import { describe, expect, it } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { MvccStore } from '../../src/mvcc/index.js';
import { del, newStore, put } from './support.js';

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
    const { store, appliedIndex } = MvccStore.restore(collectBytes(newStore().snapshot(0)));
    expect(appliedIndex).toBe(0);
    expect(store.currentRevision).toBe(1);
    expect(readBattery(store)).toEqual(readBattery(newStore()));
  });

  for (const seed of [1, 2, 3]) {
    it(`restores an identical store (seed ${seed})`, () => {
      const original = built(seed, 400);
      expect(original.compactedRevision).toBeGreaterThan(0);
      const { store: restored, appliedIndex } = MvccStore.restore(
        collectBytes(original.snapshot(12345)),
        ANY_LEASE,
      );
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

  for (const seed of [5, 6]) {
    it(`a snapshot holds the store as it was when taken, whatever is written and compacted while it is read (seed ${seed})`, () => {
      const original = built(seed, 400);
      const twin = built(seed, 400);
      const expected = collectBytes(twin.snapshot(77));
      const lazy = original.snapshot(77, 64);
      expect(lazy.byteLength).toBe(expected.byteLength);
      const iterator = lazy.pieces()[Symbol.iterator]();
      const read: Uint8Array[] = [];
      for (let i = 0; i < 3; i++) read.push(iterator.next().value as Uint8Array);
      // Meanwhile: more writes, leases granted and revoked, and a compaction of everything.
      for (const c of workload(seed + 100, 300, () => original)) original.apply(c);
      original.apply({ type: 'leaseGrant', id: 900 + seed, ttlSeconds: 30 });
      original.apply({ type: 'leaseRevoke', id: 900 + seed });
      original.apply({ type: 'compact', request: { revision: original.currentRevision } });
      expect(original.recordCount).not.toBe(twin.recordCount);
      for (let r = iterator.next(); !r.done; r = iterator.next()) read.push(r.value);
      expect(read.length).toBeGreaterThan(10);
      expect(Buffer.concat(read).equals(expected)).toBe(true);
      // Read again from the start, after all that: still the same bytes.
      expect(collectBytes(lazy)).toEqual(expected);
      // And the store it was taken from holds its own, newer state.
      expect(collectBytes(original.snapshot(77))).not.toEqual(expected);
    });
  }

  it('the length a snapshot announces before making a byte is the length it makes, through writes, deletes and compactions', () => {
    const store = newStore();
    let checked = 0;
    let compactions = 0;
    for (const c of workload(21, 600, () => store)) {
      store.apply(c);
      if (c.type === 'compact') compactions++;
      if (checked++ % 20 !== 0) continue;
      const lazy = store.snapshot(checked);
      expect(collectBytes(lazy).byteLength).toBe(lazy.byteLength);
    }
    expect(compactions).toBeGreaterThan(3);
    const restored = MvccStore.restore(collectBytes(store.snapshot(5)), ANY_LEASE).store;
    expect(restored.snapshot(5).byteLength).toBe(store.snapshot(5).byteLength);
  });

  it('compacting a revision of 60,000 tombstones copies it once, and a snapshot taken before keeps them all', () => {
    const store = newStore();
    const keys = 60_000;
    for (let i = 0; i < keys; i++) put(store, `k/${String(i).padStart(6, '0')}`, 'v');
    expect(del(store, 'k/', 'k0')).toBe(keys);
    put(store, 'other', 'v');
    const before = store.snapshot(1);
    const expected = collectBytes(before);
    store.apply({ type: 'compact', request: { revision: store.currentRevision } });
    // The puts and the tombstones all went (the tombstones' revision is below the compaction).
    expect(store.recordCount).toBe(1);
    expect(Buffer.from(collectBytes(before)).equals(expected)).toBe(true);
    expect(MvccStore.restore(expected).store.recordCount).toBe(2 * keys + 1);
    expect(collectBytes(store.snapshot(1)).byteLength).toBeLessThan(100);
    // A copy of the revision's slots per dropped record made this quadratic: 27 s at 20,000
    // tombstones, minutes at 60,000. One copy per revision takes well under a second.
  }, 20_000);

  it('a snapshot of a restored store is byte-identical', () => {
    const original = built(9, 300);
    const bytes = collectBytes(original.snapshot(7));
    expect(collectBytes(MvccStore.restore(bytes).store.snapshot(7))).toEqual(bytes);
  });

  it('refuses a flipped bit, a truncated snapshot and foreign bytes', () => {
    const bytes = collectBytes(built(4, 100).snapshot(1));
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
