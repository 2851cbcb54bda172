/**
 * Proves how the records of a data-format-2 folder are taken for conversion: whole revisions
 * only, at least the number asked for, every revision up to one a write touches, oldest
 * first until none is left; and that positions out of revision order are refused.
 */
import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../../src/common/assert.js';
import { LegacyRecords } from '../../src/node/legacy-records.js';

const at = (main: number, sub: number) => ({ main, sub });
const POSITIONS = [at(1, 0), at(2, 0), at(2, 1), at(2, 2), at(3, 0), at(5, 0), at(5, 1), at(8, 0)];

describe('LegacyRecords', () => {
  it('takes whole revisions, oldest first, at least as many records as asked, until none is left', () => {
    const legacy = new LegacyRecords(POSITIONS);
    expect(legacy.remaining).toBe(8);
    expect(legacy.lastMain).toBe(8);
    // Two records asked: revision 2 is not split.
    expect(legacy.take(2)).toEqual({ fromMain: 1, toMain: 2, keys: POSITIONS.slice(0, 4) });
    expect(legacy.remaining).toBe(4);
    expect(legacy.take(2)).toEqual({ fromMain: 3, toMain: 5, keys: POSITIONS.slice(4, 7) });
    expect(legacy.take(100)).toEqual({ fromMain: 8, toMain: 8, keys: [at(8, 0)] });
    expect(legacy.remaining).toBe(0);
    expect(legacy.lastMain).toBe(0);
    expect(legacy.take(1)).toBeUndefined();
  });

  it('takes every revision up to the one a write touches, however many records that is', () => {
    const legacy = new LegacyRecords(POSITIONS);
    expect(legacy.take(1, 5)).toEqual({ fromMain: 1, toMain: 5, keys: POSITIONS.slice(0, 7) });
    expect(legacy.take(1, 4)).toEqual({ fromMain: 8, toMain: 8, keys: [at(8, 0)] });
  });

  it('refuses positions out of revision order', () => {
    expect(() => new LegacyRecords([at(2, 0), at(1, 0)])).toThrow(InvariantViolation);
    expect(() => new LegacyRecords([at(2, 1), at(2, 1)])).toThrow(InvariantViolation);
  });
});
