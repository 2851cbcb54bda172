/**
 * Proves the campaign hold (Raft.holdCampaign, for a member whose state machine is still
 * loading): a held member never stands, on its timeout, on TimeoutNow or when its driver
 * asks, yet it votes, so another member can win with its vote, and it appends and
 * acknowledges, so entries commit through it; once released it campaigns as any member.
 */
import { describe, expect, test } from 'vitest';
import { MessageType, Role } from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

describe('campaign hold', () => {
  test('held members vote for the one that may stand, and never stand themselves', () => {
    const c = new TestCluster([1, 2, 3]);
    c.get(1).node.holdCampaign(true);
    c.get(2).node.holdCampaign(true);
    c.get(1).node.campaign();
    c.tick(60);
    expect(c.leader()?.id).toBe(3);
    // Member 3 won with a held member's vote; neither held member ever asked for one.
    const asked = new Set(
      [...c.sentOf(MessageType.Vote), ...c.sentOf(MessageType.PreVote)].map((m) => m.from),
    );
    expect([...asked]).toEqual([3]);
    expect(c.get(1).node.status()).toMatchObject({ role: Role.Follower, leader: 3 });
  });

  test('entries commit through a held member', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(3);
    c.get(1).node.holdCampaign(true);
    c.isolate(2);
    c.get(3).node.propose(data('through the held member'));
    c.stabilize();
    expect(c.appliedData(3)).toContain('through the held member');
    expect(c.appliedData(1)).toContain('through the held member');
  });

  test('with every member held nobody leads; the first released one does', () => {
    const c = new TestCluster([1, 2, 3]);
    for (const id of [1, 2, 3]) c.get(id).node.holdCampaign(true);
    c.tick(60);
    expect(c.leader()).toBeUndefined();
    expect(c.sentOf(MessageType.PreVote).length + c.sentOf(MessageType.Vote).length).toBe(0);
    c.get(2).node.holdCampaign(false);
    c.tick(40);
    expect(c.leader()?.id).toBe(2);
  });

  test('a held member asked to take over leadership does not stand until released', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(3);
    c.get(1).node.holdCampaign(true);
    c.get(3).node.transferLeadership(1);
    c.stabilize();
    expect(c.sentOf(MessageType.TimeoutNow).some((m) => m.to === 1)).toBe(true);
    c.tick(30);
    expect(c.leader()?.id).toBe(3);
    c.get(1).node.holdCampaign(false);
    c.get(3).node.transferLeadership(1);
    c.stabilize();
    expect(c.leader()?.id).toBe(1);
  });
});
