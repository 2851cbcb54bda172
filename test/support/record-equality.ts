// Test setup: revision records compare by their fields. A PUT record keeps its value in a slab (src/mvcc/slab-record.ts) unless it is empty or large, and is then a different object shape from a plain record; two stores agree when their records hold the same fields.
import { expect } from 'vitest';
import { SlabRecord } from '../../src/mvcc/slab-record.js';
import type { RevisionRecord } from '../../src/mvcc/types.js';

function fieldsOf(r: RevisionRecord): RevisionRecord {
  const { main, sub, type, key, value, createRevision, version, lease } = r;
  return { main, sub, type, key, value, createRevision, version, lease };
}

expect.addEqualityTesters([
  function loadedRecordsByFields(a: unknown, b: unknown, testers) {
    if (!(a instanceof SlabRecord) && !(b instanceof SlabRecord)) return undefined;
    const plain = (x: unknown): unknown => (x instanceof SlabRecord ? fieldsOf(x) : x);
    return this.equals(plain(a), plain(b), testers);
  },
]);
