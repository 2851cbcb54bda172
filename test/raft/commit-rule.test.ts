/**
 * Proves the current-term commit rule on the Raft paper's Figure 8: an entry of an older
 * term that reaches a majority is not committed by counting replicas; with the test-only
 * broken rule the very same schedule commits it and a later leader overwrites an applied
 * entry, which is the State Machine Safety violation the rule exists to prevent.
 */
import { describe, expect, test } from 'vitest';
import { type Entry, MessageType, Role } from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

interface Outcome {
  /** S1's commit index after replicating the old-term entry to a majority. */
  commitWithOldEntryOnMajority: number;
  oldEntryIndex: number;
  /** Entries applied at the old entry's index by each member, after S5 took over. */
  appliedAt: Map<number, Entry | undefined>;
}

function figure8(brokenCommitRule: boolean): Outcome {
  const c = new TestCluster([1, 2, 3, 4, 5], {
    preVote: false,
    checkQuorum: false,
    messageSizeBytesMax: 1, // one entry per append, so entries of different terms travel apart
    testOnlyBrokenCommitRule: brokenCommitRule,
  });
  // (a) S1 leads term 2 and replicates x only to S2.
  expect(c.elect(1)).toBe(Role.Leader);
  c.partition([1, 2], [3, 4, 5]);
  c.get(1).node.propose(data('x'));
  c.stabilize();
  const oldEntryIndex = c.get(1).node.status().lastIndex;
  // (b) S5 leads term 3 with votes from S3, S4 and appends an entry only it has.
  const s5Silent = (m: { from: number; type: MessageType }) => !(m.from === 5 && m.type === MessageType.App);
  c.filters.push(s5Silent);
  expect(c.elect(5)).toBe(Role.Leader);
  // (c) S5 is gone; S1 restarts and leads term 4, bringing x to S3 before its own term's entries arrive.
  c.heal();
  c.isolate(5);
  c.restart(1);
  c.rewriters.push((m) =>
    m.type === MessageType.App ? { ...m, entries: m.entries.filter((e) => e.term < 4) } : m,
  );
  // As in the paper, S1 fails before any follower learns its commit index.
  c.rewriters.push((m) => (m.from === 1 ? { ...m, commit: 0 } : m));
  for (let i = 0; i < 3 && c.get(1).node.status().role !== Role.Leader; i++) c.elect(1);
  expect(c.get(1).node.status().role).toBe(Role.Leader);
  expect(c.get(1).node.status().term).toBe(4);
  c.tick(3);
  const holders = [1, 2, 3, 4].filter(
    (id) => c.get(id).storage.lastIndex() >= oldEntryIndex && c.get(id).storage.term(oldEntryIndex) === 2,
  );
  expect(holders.length).toBeGreaterThanOrEqual(3);
  const commitWithOldEntryOnMajority = c.get(1).node.status().commit;
  // (d) S1 is gone; S5 (last term 3) wins term 5 and overwrites x everywhere it can.
  c.heal();
  c.isolate(1);
  c.restart(5);
  for (let i = 0; i < 5 && c.get(5).node.status().role !== Role.Leader; i++) c.elect(5);
  c.tick(3);
  const appliedAt = new Map<number, Entry | undefined>();
  for (const id of [1, 2, 3, 4, 5])
    appliedAt.set(
      id,
      c.get(id).applied.find((e) => e.index === oldEntryIndex),
    );
  return { commitWithOldEntryOnMajority, oldEntryIndex, appliedAt };
}

function conflicting(o: Outcome): boolean {
  const terms = new Set([...o.appliedAt.values()].filter((e) => e !== undefined).map((e) => e.term));
  return terms.size > 1;
}

describe('commit rule (Figure 8)', () => {
  test('an old-term entry on a majority is not committed; no two members apply different entries', () => {
    const o = figure8(false);
    expect(o.commitWithOldEntryOnMajority).toBeLessThan(o.oldEntryIndex);
    expect(conflicting(o)).toBe(false);
  });

  test('counting replicas of old-term entries (the broken rule) commits x and later loses it', () => {
    const o = figure8(true);
    expect(o.commitWithOldEntryOnMajority).toBeGreaterThanOrEqual(o.oldEntryIndex);
    expect(conflicting(o)).toBe(true);
  });
});
