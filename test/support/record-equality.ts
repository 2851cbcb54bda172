// Test setup: revision records compare by their fields. A record loaded from disk or a snapshot keeps its value in a slab (src/mvcc/loaded-record.ts) and is a different object shape from a record a write made; two stores agree when their records hold the same fields.
import { expect } from 'vitest';
import { LoadedRecord } from '../../src/mvcc/loaded-record.js';
import type { RevisionRecord } from '../../src/mvcc/types.js';

function fieldsOf(r: RevisionRecord): RevisionRecord {
  const { main, sub, type, key, value, createRevision, version, lease } = r;
  return { main, sub, type, key, value, createRevision, version, lease };
}

expect.addEqualityTesters([
  function loadedRecordsByFields(a: unknown, b: unknown, testers) {
    if (!(a instanceof LoadedRecord) && !(b instanceof LoadedRecord)) return undefined;
    const plain = (x: unknown): unknown => (x instanceof LoadedRecord ? fieldsOf(x) : x);
    return this.equals(plain(a), plain(b), testers);
  },
]);
