/**
 * Proves log replication mechanics: a new leader appends a no-op of its term; a follower's
 * progress moves probe -> replicate; appends in flight to one follower are bounded by the
 * window; appends are batched up to the message byte limit; and a follower with a long
 * divergent tail is repaired in a number of round trips bounded by the number of
 * conflicting terms, not entries (fast backtracking).
 */
import { describe, expect, test } from 'vitest';
import { EntryType, MessageType, Role } from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

describe('replication', () => {
  test('a new leader appends an empty entry of its term and commits it', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    const st = c.get(1).node.status();
    // The bootstrap entries (the founding configuration) come first, then the leader's no-op.
    const first = c.get(2).applied.find((e) => e.type === EntryType.Normal)!;
    expect(
      c
        .get(2)
        .applied.slice(0, 3)
        .every((e) => e.type === EntryType.ConfChange),
    ).toBe(true);
    expect(first.data.byteLength).toBe(0);
    expect(first.term).toBe(st.term);
    expect(st.commit).toBe(first.index);
  });

  test('progress goes from probe to replicate once the follower answers', () => {
    const c = new TestCluster([1, 2, 3]);
    c.get(1).node.campaign();
    // Deliver round by round (pre-vote, vote), and look at progress before any append answer.
    for (let round = 0; round < 4 && c.get(1).node.status().role !== Role.Leader; round++) c.deliverOnce();
    expect(c.get(1).node.status().role).toBe(Role.Leader);
    expect(c.get(1).node.status().progress?.get(2)?.state).toBe('probe');
    c.stabilize();
    expect(c.get(1).node.status().progress?.get(2)?.state).toBe('replicate');
  });

  test('appends in flight to an unresponsive follower stop at the window size', () => {
    const window = 4;
    const c = new TestCluster([1, 2, 3], { inflightMessagesMax: window });
    c.elect(1);
    // Follower 3 stops answering (its responses are lost) but stays in replicate state.
    c.filters.push((m) => m.from !== 3);
    c.sent = [];
    for (let i = 0; i < 20; i++) {
      c.get(1).node.propose(data(`p${i}`));
      c.stabilize();
    }
    const appsTo3 = c.sentOf(MessageType.App).filter((m) => m.to === 3 && m.entries.length > 0);
    expect(appsTo3.length).toBe(window);
    expect(c.appliedData(2)).toHaveLength(20);
  });

  test('appends carry several entries but never more bytes than the limit', () => {
    const limit = 200;
    const c = new TestCluster([1, 2, 3], { messageSizeBytesMax: limit });
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 30; i++) c.get(1).node.propose(data(`entry-${i}`.padEnd(40, '.')));
    c.stabilize();
    c.heal();
    c.sent = [];
    c.tick(3);
    const apps = c.sentOf(MessageType.App).filter((m) => m.to === 3 && m.entries.length > 0);
    expect(apps.length).toBeGreaterThan(1);
    expect(Math.max(...apps.map((m) => m.entries.length))).toBeGreaterThan(1);
    for (const m of apps) {
      const size = m.entries.reduce((s, e) => s + e.data.byteLength + 24, 0);
      expect(size <= limit || m.entries.length === 1).toBe(true);
    }
    expect(c.appliedData(3)).toEqual(c.appliedData(1));
  });

  test('a long divergent tail is repaired with a few rejections, not one per entry', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    c.elect(1);
    // Old leader 1 appends 50 entries of term 1 that only it has.
    c.isolate(1);
    for (let i = 0; i < 50; i++) c.get(1).node.propose(data(`stale-${i}`));
    c.stabilize();
    // Leader 2 (term 2) writes 30 entries, then leader 3 (term 3) takes over: its probe to 1
    // starts far beyond the point where the logs agree.
    expect(c.elect(2)).toBe(Role.Leader);
    for (let i = 0; i < 30; i++) c.get(2).node.propose(data(`new-${i}`));
    c.stabilize();
    expect(c.elect(3)).toBe(Role.Leader);
    c.heal();
    c.sent = [];
    c.tick(3);
    const rejections = c.sentOf(MessageType.AppResp).filter((m) => m.from === 1 && m.reject);
    expect(rejections.length).toBeGreaterThan(0);
    expect(rejections.length).toBeLessThanOrEqual(2);
    expect(c.appliedData(1)).toEqual(c.appliedData(3));
    expect(c.appliedData(1)).toHaveLength(30);
    expect(c.appliedData(1).some((s) => s.startsWith('stale'))).toBe(false);
  });
});
