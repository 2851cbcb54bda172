/**
 * Proves the watch-guarantees checker accepts watchers that delivered exactly the keys'
 * history from their start revision, and rejects each bad log with a message naming the
 * violation: a duplicate, an event out of revision order, a gap, an event (or value) not in
 * the history, a watcher that stopped early, one that never resumed after every member was
 * killed; events at or below the compaction point are not required.
 */
import { describe, expect, it } from 'vitest';
import { type ChangeEvent, checkWatches, type WatcherLog, type WatchHistory } from './watch-order.js';

const put = (revision: number, key: string, value: string): ChangeEvent => ({
  revision,
  key,
  type: 'put',
  value,
});
const del = (revision: number, key: string): ChangeEvent => ({ revision, key, type: 'delete', value: '' });
const history = [put(2, 'k0', 'a'), put(3, 'k1', 'b'), del(5, 'k0'), put(6, 'k1', 'c'), put(8, 'k~', 'end')];
const watcher = (name: string, startRevision: number, events: ChangeEvent[], reconnects = 1): WatcherLog => ({
  name,
  startRevision,
  events,
  reconnects,
});
const base: WatchHistory = {
  watchers: [watcher('w1', 1, history), watcher('w2', 4, history.slice(2))],
  history,
  untilRevision: 8,
  compactRevision: 0,
  everyMemberKilled: true,
};
const violations = (watchers: WatcherLog[], h: Partial<WatchHistory> = {}): string =>
  checkWatches({ ...base, watchers, ...h }).violations.join('\n');

describe('watch checker', () => {
  it('accepts watchers that delivered the history from their start', () => {
    const r = checkWatches(base);
    expect(r.violations).toEqual([]);
    expect(r.summary).toContain('2 watchers, 8 events delivered, 2 resumptions');
  });

  it('rejects a duplicate event', () => {
    const ev = [history[0]!, history[1]!, history[1]!, ...history.slice(2)];
    expect(violations([watcher('w1', 1, ev)])).toContain('w1: duplicate put k1="b" @3');
  });

  it('rejects events out of revision order', () => {
    const ev = [history[1]!, history[0]!, ...history.slice(2)];
    expect(violations([watcher('w1', 1, ev)])).toContain(
      'w1: out of order: put k0="a" @2 after put k1="b" @3',
    );
  });

  it('rejects a gap', () => {
    const ev = history.filter((e) => e.revision !== 5);
    expect(violations([watcher('w1', 1, ev)])).toContain('w1: gap: missed 1 event(s), first delete k0 @5');
  });

  it('rejects an event the history does not hold, or holds with another value', () => {
    expect(
      violations([watcher('w1', 1, [...history.slice(0, 4), put(7, 'k0', 'x'), history[4]!])]),
    ).toContain('w1: put k0="x" @7 is not in the keys\' history');
    expect(violations([watcher('w1', 1, [put(2, 'k0', 'z'), ...history.slice(1)])])).toContain(
      'w1: delivered put k0="z" @2 but the history has put k0="a" @2',
    );
  });

  it('rejects a watcher that stopped before the end of the history', () => {
    const v = violations([{ ...watcher('w1', 1, history.slice(0, 3)), error: 'CANCELLED' }]);
    expect(v).toContain('w1: stopped at revision 5 (history to 8, ended with CANCELLED), missed 2 event(s)');
  });

  it('rejects a watcher that never resumed although every member was killed', () => {
    expect(violations([watcher('w1', 1, history, 0)])).toContain('w1: never resumed');
  });

  it('does not require events at or below the compaction point', () => {
    expect(violations([watcher('w1', 1, history.slice(2))], { compactRevision: 4 })).toBe('');
  });
});
