/**
 * Proves reconnect delays grow exponentially to their ceiling, stay within [d/2, d] whatever
 * the jitter draws, and start over after reset() — with the random source pinned.
 */
import { describe, expect, test } from 'vitest';
import { Backoff } from '../../src/transport/backoff.js';

describe('Backoff', () => {
  test('doubles up to the ceiling, jitter within [d/2, d], reset starts over', () => {
    const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => high.nextDelayMs())).toEqual([100, 200, 400, 800, 1000, 1000]);
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect(Array.from({ length: 6 }, () => low.nextDelayMs())).toEqual([50, 100, 200, 400, 500, 500]);
    low.reset();
    expect(low.nextDelayMs()).toBe(50);
  });

  test('with real randomness every delay stays within its bounds', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 80 });
    let ceiling = 10;
    for (let i = 0; i < 100; i++) {
      const d = b.nextDelayMs();
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
      ceiling = Math.min(ceiling * 2, 80);
    }
  });
});
