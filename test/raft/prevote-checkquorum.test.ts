/**
 * Proves check-quorum and pre-vote: a leader cut off from its quorum steps down within an
 * election timeout and, when it rejoins, its uncommitted entries give way to the new
 * leader's log; and a node that rejoins after a partition cannot depose a healthy
 * leader nor raise the cluster's term (while without pre-vote it does).
 */
import { describe, expect, test } from 'vitest';
import { Role } from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

describe('check-quorum', () => {
  test('a partitioned leader steps down after an election timeout', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(1);
    c.tick(25, [1]);
    expect(c.get(1).node.status().role).toBe(Role.Follower);
  });

  test('a partitioned old leader steps down and its uncommitted entries are overwritten when it rejoins', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.propose(data('committed'));
    c.stabilize();
    c.isolate(1);
    c.get(1).node.propose(data('lost-1'));
    c.get(1).node.propose(data('lost-2'));
    c.stabilize();
    c.tick(25, [1]);
    expect(c.get(1).node.status().role).toBe(Role.Follower);
    c.tick(30, [2, 3]);
    const lead = c.leader();
    expect(lead && lead.id !== 1).toBe(true);
    lead!.node.propose(data('new'));
    c.stabilize();
    c.heal();
    c.tick(5);
    expect(c.appliedData(1)).toEqual(['committed', 'new']);
    expect(c.appliedData(1)).toEqual(c.appliedData(lead!.id));
  });

  test('a leader that hears from a quorum stays leader', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    c.tick(50, [1, 2]);
    expect(c.get(1).node.status().role).toBe(Role.Leader);
  });
});

describe('pre-vote', () => {
  function rejoin(preVote: boolean): { before: number; after: number; leaderAfter: number } {
    const c = new TestCluster([1, 2, 3], { preVote, checkQuorum: preVote });
    c.elect(1);
    const before = c.get(1).node.status().term;
    c.isolate(3);
    // Node 3 times out again and again while cut off.
    c.tick(100, [3]);
    c.heal();
    c.tick(30);
    return { before, after: c.get(1).node.status().term, leaderAfter: c.leader()?.id ?? 0 };
  }

  test('a rejoining node cannot depose a healthy leader or bump the term', () => {
    const r = rejoin(true);
    expect(r.after).toBe(r.before);
    expect(r.leaderAfter).toBe(1);
  });

  test('without pre-vote the same rejoin disrupts the cluster (the failure pre-vote prevents)', () => {
    const r = rejoin(false);
    expect(r.after).toBeGreaterThan(r.before);
  });
});
