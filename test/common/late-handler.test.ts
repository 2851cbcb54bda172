// Proves a LateHandler keeps the first call made before its handler is set and hands it over when the handler is set (later early calls are dropped), calls the handler directly once set, and refuses a second handler.
import { describe, expect, it } from 'vitest';
import { LateHandler } from '../../src/common/late-handler.js';

describe('LateHandler', () => {
  it('hands the first early call to the handler when it is set, then calls it directly', () => {
    const h = new LateHandler<string>();
    h.call('node failed');
    h.call('a second failure');
    const got: string[] = [];
    h.set((a) => got.push(a));
    expect(got).toEqual(['node failed']);
    h.call('after');
    expect(got).toEqual(['node failed', 'after']);
  });

  it('calls nothing at set when nothing came early, and takes one handler only', () => {
    const h = new LateHandler<number>();
    const got: number[] = [];
    h.set((n) => got.push(n));
    expect(got).toEqual([]);
    h.call(7);
    expect(got).toEqual([7]);
    expect(() => h.set(() => {})).toThrow(/already set/);
  });
});
