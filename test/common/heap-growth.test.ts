// Proves that a member caps V8's heap growth at twice what is live unless the operator chose a growth of their own, by a node flag or in NODE_OPTIONS, in either of V8's spellings.
import { describe, expect, it } from 'vitest';
import { heapGrowthFlag } from '../../src/common/heap-growth.js';

describe('heapGrowthFlag', () => {
  it('sets twice what is live when nothing was chosen', () => {
    expect(heapGrowthFlag([], undefined)).toBe('--heap-growing-percent=100');
    expect(heapGrowthFlag(['--enable-source-maps'], '--max-old-space-size=4096')).toBe(
      '--heap-growing-percent=100',
    );
  });

  it("leaves the operator's own choice alone", () => {
    expect(heapGrowthFlag(['--heap-growing-percent=30'], undefined)).toBeUndefined();
    expect(heapGrowthFlag([], '--trace-gc --heap_growing_percent=50')).toBeUndefined();
    expect(heapGrowthFlag(['--heap-growing-percent', '40'], '')).toBeUndefined();
  });

  it('is not fooled by a flag that only starts alike', () => {
    expect(heapGrowthFlag(['--heap-growing-percentage=5'], '--heap-growing')).toBe(
      '--heap-growing-percent=100',
    );
  });
});
