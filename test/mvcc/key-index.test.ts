// Proves KeyIndex answers reads at any revision across generations (including several changes in one revision) and compacts exactly as the documented rule says — latest put at or before r, a tombstone at exactly r, everything after r — by building key histories record by record.
import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../../src/common/assert.js';
import { KeyIndex } from '../../src/mvcc/key-index.js';
import { EventType, type RevisionRecord } from '../../src/mvcc/types.js';

const key = 'k';

function putAt(main: number, version: number, createRevision: number, sub = 0): RevisionRecord {
  return {
    main,
    sub,
    type: EventType.Put,
    key,
    value: `v${main}`,
    createRevision,
    version,
    lease: 0,
  };
}

function delAt(main: number, sub = 0): RevisionRecord {
  return {
    main,
    sub,
    type: EventType.Delete,
    key,
    value: '',
    createRevision: 0,
    version: 0,
    lease: 0,
  };
}

/** puts 2, 4 ; delete 6 ; puts 8, 10 ; delete 12 ; put 14. */
function twoDeadGenerationsAndALiveOne(): KeyIndex {
  const ki = new KeyIndex(key);
  ki.addPut(putAt(2, 1, 2));
  ki.addPut(putAt(4, 2, 2));
  ki.addTombstone(delAt(6));
  ki.addPut(putAt(8, 1, 8));
  ki.addPut(putAt(10, 2, 8));
  ki.addTombstone(delAt(12));
  ki.addPut(putAt(14, 1, 14));
  return ki;
}

const modAt = (ki: KeyIndex, rev: number) => ki.at(rev)?.main;

describe('KeyIndex.at', () => {
  it('finds the version live at each revision, and nothing before creation or inside a gap', () => {
    const ki = twoDeadGenerationsAndALiveOne();
    const expected: Record<number, number | undefined> = {
      1: undefined,
      2: 2,
      3: 2,
      4: 4,
      5: 4,
      6: undefined,
      7: undefined,
      8: 8,
      11: 10,
      12: undefined,
      13: undefined,
      14: 14,
      99: 14,
    };
    for (const [rev, mod] of Object.entries(expected)) expect(modAt(ki, Number(rev)), `at ${rev}`).toBe(mod);
    expect(ki.current?.main).toBe(14);
    expect(ki.lastChangeRevision).toBe(14);
  });

  it('handles a delete and a re-create in the same revision (sub revisions order them)', () => {
    const ki = new KeyIndex(key);
    ki.addPut(putAt(2, 1, 2));
    ki.addTombstone(delAt(3, 0));
    ki.addPut(putAt(3, 1, 3, 1));
    expect(modAt(ki, 2)).toBe(2);
    expect(ki.at(3)?.createRevision).toBe(3);
  });

  it('refuses a tombstone for a key that is not live', () => {
    const ki = new KeyIndex(key);
    expect(() => ki.addTombstone(delAt(2))).toThrow(InvariantViolation);
  });
});

describe('KeyIndex.compact', () => {
  const mains = (records: RevisionRecord[]) => records.map((r) => r.main);

  it('drops generations that ended before r', () => {
    const ki = twoDeadGenerationsAndALiveOne();
    expect(mains(ki.compact(7))).toEqual([2, 4, 6]);
    expect(modAt(ki, 7)).toBeUndefined();
    expect(modAt(ki, 9)).toBe(8);
  });

  it('keeps the latest put at or before r and what follows', () => {
    const ki = twoDeadGenerationsAndALiveOne();
    expect(mains(ki.compact(11))).toEqual([2, 4, 6, 8]);
    expect(modAt(ki, 11)).toBe(10);
    expect(ki.compact(11)).toEqual([]);
  });

  it('keeps a tombstone at exactly r, alone, and drops it at the next compaction', () => {
    const ki = twoDeadGenerationsAndALiveOne();
    expect(mains(ki.compact(12))).toEqual([2, 4, 6, 8, 10]);
    expect(modAt(ki, 12)).toBeUndefined();
    expect(modAt(ki, 14)).toBe(14);
    expect(mains(ki.compact(13))).toEqual([12]);
    expect(modAt(ki, 14)).toBe(14);
  });

  it('becomes empty when the key was deleted before r', () => {
    const ki = new KeyIndex(key);
    ki.addPut(putAt(2, 1, 2));
    ki.addTombstone(delAt(3));
    expect(mains(ki.compact(4))).toEqual([2, 3]);
    expect(ki.isEmpty).toBe(true);
  });

  it('restores a lone tombstone left by a compaction at exactly its revision', () => {
    const ki = new KeyIndex(key);
    ki.restoreCompactedTombstone(delAt(5));
    expect(ki.at(5)).toBeUndefined();
    ki.addPut(putAt(6, 1, 6));
    expect(modAt(ki, 6)).toBe(6);
    expect(modAt(ki, 5)).toBeUndefined();
  });
});
