/**
 * Proves ReadIndex reads: a new leader holds reads until it has committed an entry of its
 * term; reads queued together share a single heartbeat round; a follower's read is
 * answered through the leader with the leader's commit index; a leader that lost its
 * quorum answers no read. Lease-based reads: read-lease.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { MessageType } from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

describe('ReadIndex', () => {
  test('a leader holds reads until an entry of its term is committed', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    c.elect(1);
    c.get(1).node.propose(data('w1'));
    c.stabilize();
    // Node 2 wins an election, but its appends (the no-op of its term) are held back.
    const holdAppends = (m: { from: number; type: MessageType }) =>
      !(m.from === 2 && m.type === MessageType.App);
    c.filters.push(holdAppends);
    expect(c.elect(2)).toBe('leader');
    const lead = c.get(2).node.status();
    expect(lead.commit).toBeLessThan(lead.lastIndex);
    c.get(2).node.readIndex(data('r'));
    c.stabilize();
    expect(c.get(2).readStates).toHaveLength(0);
    c.heal();
    c.tick(2);
    expect(c.get(2).readStates).toHaveLength(1);
    // The read index covers the new term's no-op, hence every write committed before the read.
    expect(c.get(2).readStates[0]!.index).toBe(lead.lastIndex);
  });

  test('reads queued before a Ready share one heartbeat round', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.sent = [];
    for (let i = 0; i < 10; i++) c.get(1).node.readIndex(data(`r${i}`));
    c.stabilize();
    const heartbeats = c.sentOf(MessageType.Heartbeat);
    expect(heartbeats).toHaveLength(2); // one per follower
    expect(c.get(1).readStates.map((r) => new TextDecoder().decode(r.context))).toEqual(
      Array.from({ length: 10 }, (_, i) => `r${i}`),
    );
  });

  test('a follower read is answered with the leader commit index', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.propose(data('w'));
    c.stabilize();
    c.get(3).node.readIndex(data('f'));
    c.stabilize();
    expect(c.get(3).readStates).toHaveLength(1);
    expect(c.get(3).readStates[0]!.index).toBe(c.get(1).node.status().commit);
  });

  test('a leader cut off from its quorum answers no read', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(1);
    c.get(1).node.readIndex(data('x'));
    c.stabilize();
    expect(c.get(1).readStates).toHaveLength(0);
  });
});
