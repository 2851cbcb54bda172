/**
 * Proves each safety checker rejects a hand-made violation of its property and accepts
 * the corresponding legal history, so a quiet simulator run means something.
 */
import { describe, expect, test } from 'vitest';
import {
  ElectionSafety,
  LeaderAppendOnly,
  LeaderCompleteness,
  LinearizableReads,
  LogMatching,
  StateMachineSafety,
} from './checkers.js';

describe('checkers', () => {
  test('ElectionSafety: two leaders in one term', () => {
    const c = new ElectionSafety();
    expect(c.observeLeader(3, 1)).toBeUndefined();
    expect(c.observeLeader(3, 1)).toBeUndefined();
    expect(c.observeLeader(4, 2)).toBeUndefined();
    expect(c.observeLeader(3, 2)?.property).toBe('ElectionSafety');
  });

  test('LeaderAppendOnly: a leader that truncates or overwrites its log', () => {
    const log = new Map<number, number>([
      [1, 1],
      [2, 2],
      [3, 2],
    ]);
    const termAt = (i: number) => log.get(i) ?? 0;
    const c = new LeaderAppendOnly();
    expect(c.observe('1#1', 2, 3, termAt, 1)).toBeUndefined();
    log.set(4, 2);
    expect(c.observe('1#1', 2, 4, termAt, 1)).toBeUndefined();
    expect(c.observe('1#1', 2, 3, termAt, 1)?.property).toBe('LeaderAppendOnly');
    const c2 = new LeaderAppendOnly();
    expect(c2.observe('1#1', 2, 4, termAt, 1)).toBeUndefined();
    log.set(4, 1);
    expect(c2.observe('1#1', 2, 4, termAt, 1)?.message).toMatch(/overwrote index 4/);
    // Another incarnation (restarted before its term was durable) starts a fresh epoch.
    expect(c2.observe('1#2', 2, 3, termAt, 1)).toBeUndefined();
  });

  test('LogMatching: same index and term with another entry, or another predecessor', () => {
    const c = new LogMatching();
    expect(c.observeEntry(1, 5, 2, 'a', 2)).toBeUndefined();
    expect(c.observeEntry(2, 5, 2, 'a', 2)).toBeUndefined();
    expect(c.observeEntry(3, 5, 2, 'b', 2)?.property).toBe('LogMatching');
    expect(c.observeEntry(3, 5, 2, 'a', 1)?.message).toMatch(/follows term 1/);
    expect(c.observeEntry(3, 5, 2, 'a', -1)).toBeUndefined();
  });

  test('StateMachineSafety: different entries applied at one index', () => {
    const c = new StateMachineSafety();
    expect(c.observeApply(1, 7, 3, 'x')).toBeUndefined();
    expect(c.observeApply(2, 7, 3, 'x')).toBeUndefined();
    expect(c.observeApply(3, 7, 4, 'y')?.property).toBe('StateMachineSafety');
  });

  test('LeaderCompleteness: a new leader missing a committed entry', () => {
    const sms = new StateMachineSafety();
    sms.observeApply(1, 1, 1, 'a');
    sms.observeApply(1, 2, 2, 'b');
    const c = new LeaderCompleteness(sms);
    const full = (i: number) => (i === 1 ? 1 : i === 2 ? 2 : 0);
    expect(c.observeNewLeader(2, 3, 2, 0, full)).toBeUndefined();
    const missing = (i: number) => (i === 1 ? 1 : 0);
    expect(c.observeNewLeader(3, 4, 1, 0, missing)?.property).toBe('LeaderCompleteness');
    const overwritten = (i: number) => (i === 1 ? 1 : i === 2 ? 3 : 0);
    expect(c.observeNewLeader(3, 4, 2, 0, overwritten)?.property).toBe('LeaderCompleteness');
    // Entries inside the new leader's snapshot count as present.
    expect(c.observeNewLeader(3, 4, 2, 2, () => 0)).toBeUndefined();
  });

  test('LinearizableReads: a read that misses a write acknowledged before it began', () => {
    const c = new LinearizableReads();
    c.observeAck('w1');
    const mark = c.mark();
    c.observeAck('w2');
    expect(c.observeRead(1, mark, (w) => w === 'w1')).toBeUndefined();
    expect(c.observeRead(1, c.mark(), (w) => w === 'w1')?.property).toBe('LinearizableRead');
    expect(c.observeRead(2, mark, () => false)?.message).toMatch(/misses write w1/);
  });
});
