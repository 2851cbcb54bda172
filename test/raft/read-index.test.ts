/**
 * Proves ReadIndex reads: a new leader holds reads until it has committed an entry of its
 * term; reads queued together share a single heartbeat round; a follower's read is
 * answered through the leader with the leader's commit index; a leader that lost its
 * quorum answers no read; and lease-based reads need check-quorum and send no heartbeat.
 */
import { describe, expect, test } from 'vitest';
import { MemoryStorage, MessageType, RawNode, ReadOnlyOption } from '../../src/raft/index.js';
import { data, TestCluster, testPrng } from './harness.js';

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

  test('lease-based reads require check-quorum', () => {
    const make = (checkQuorum: boolean) =>
      new RawNode({
        id: 1,
        storage: new MemoryStorage(),
        electionTimeoutTicks: 10,
        heartbeatIntervalTicks: 1,
        prng: testPrng(1),
        checkQuorum,
        readOnlyOption: ReadOnlyOption.LeaseBased,
      });
    expect(() => make(false)).toThrow(/require checkQuorum/);
    expect(() => make(true)).not.toThrow();
  });

  test('lease-based reads are answered without a heartbeat round', () => {
    const c = new TestCluster([1, 2, 3], { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true });
    c.elect(1);
    c.sent = [];
    c.get(1).node.readIndex(data('l'));
    c.stabilize();
    expect(c.sentOf(MessageType.Heartbeat)).toHaveLength(0);
    expect(c.get(1).readStates).toHaveLength(1);
  });
});
