/**
 * Proves the member-local auth tables stay bounded and time out as specified: simple tokens
 * expire after their TTL unless used, are revoked per user, and the table is capped; the
 * failure limiter blocks a key after its failures, releases it after the window, and caps
 * its table. A fake clock drives both.
 */
import { describe, expect, test } from 'vitest';
import { FailureLimiter } from '../../src/auth/failure-limiter.js';
import { TokenTable } from '../../src/auth/token-table.js';

describe('token table', () => {
  test('a token lives for its TTL after its last use, and no longer', () => {
    let now = 1_000;
    const t = new TokenTable(100, () => now);
    t.add('tok', 'alice', now);
    now += 90;
    expect(t.use('tok')).toBe('alice');
    now += 90; // 180 after issue but 90 after use
    expect(t.use('tok')).toBe('alice');
    now += 100;
    expect(t.use('tok')).toBeUndefined();
    t.add('old', 'bob', now - 200); // issued longer ago than the TTL
    expect(t.use('old')).toBeUndefined();
  });

  test('tokens of a user are revoked together, and the table is capped', () => {
    const t = new TokenTable(1_000, () => 0, 3);
    t.add('a1', 'a', 0);
    t.add('a2', 'a', 0);
    t.add('b1', 'b', 0);
    t.revokeUser('a');
    expect(t.use('a1')).toBeUndefined();
    expect(t.use('b1')).toBe('b');
    for (let i = 0; i < 10; i++) t.add(`x${i}`, 'x', 0);
    expect(t.size).toBe(3);
  });
});

describe('failure limiter', () => {
  test('blocks after the allowed failures until the window ends; success clears', () => {
    let now = 0;
    const l = new FailureLimiter({ failuresMax: 3, windowMs: 1_000, keysMax: 100, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(l.blocked('u')).toBe(false);
      l.fail('u');
    }
    expect(l.blocked('u')).toBe(true);
    expect(l.blocked('v')).toBe(false);
    now += 1_000;
    expect(l.blocked('u')).toBe(false);
    l.fail('v');
    l.succeed('v');
    expect(l.size).toBe(0);
  });

  test('the table is capped: a flood of names keeps at most keysMax', () => {
    const l = new FailureLimiter({ failuresMax: 1, windowMs: 60_000, keysMax: 50, now: () => 0 });
    for (let i = 0; i < 1_000; i++) l.fail(`name-${i}`);
    expect(l.size).toBe(50);
    expect(l.blocked('name-999')).toBe(true);
  });
});
