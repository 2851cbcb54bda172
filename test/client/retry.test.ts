/**
 * Proves the retry policy's arithmetic: full jitter stays within the capped exponential,
 * reaches it, and bad options are refused.
 */
import { describe, expect, it } from 'vitest';
import { backoffMs, retryPolicy } from '../../src/client/retry.js';

describe('backoff with full jitter', () => {
  const policy = retryPolicy({ backoffBaseMs: 50, backoffMaxMs: 1000 });

  it('waits between 0 and base * 2^(attempt-1), capped', () => {
    expect(backoffMs(policy, 1, () => 0.999999)).toBe(49);
    expect(backoffMs(policy, 3, () => 0.999999)).toBe(199);
    expect(backoffMs(policy, 30, () => 0.999999)).toBe(999);
    expect(backoffMs(policy, 30, () => 0)).toBe(0);
    expect(backoffMs(policy, 4, () => 0.5)).toBe(200);
  });

  it('refuses nonsense', () => {
    expect(() => retryPolicy({ attemptsMax: 0 })).toThrow(RangeError);
    expect(() => retryPolicy({ backoffBaseMs: 10, backoffMaxMs: 5 })).toThrow(RangeError);
  });
});
