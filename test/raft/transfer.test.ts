/**
 * Proves leadership transfer: an up-to-date target takes over at once via TimeoutNow; a
 * lagging target is first caught up; proposals are refused while a transfer is under way;
 * a transfer whose target never answers is abandoned after an election timeout; and a
 * learner is never made leader.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { MessageType, Role } from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

describe('leadership transfer', () => {
  test('an up-to-date follower takes over, with voters granting despite their lease', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.transferLeadership(2);
    c.stabilize();
    expect(c.leader()?.id).toBe(2);
    expect(c.get(1).node.status().role).toBe(Role.Follower);
  });

  test('a lagging target is caught up before TimeoutNow', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.get(1).node.propose(data(`e${i}`));
    c.stabilize();
    c.heal();
    c.sent = [];
    c.get(1).node.transferLeadership(3);
    c.stabilize();
    const timeoutNow = c.sentOf(MessageType.TimeoutNow);
    expect(timeoutNow).toHaveLength(1);
    const firstTimeout = c.sent.indexOf(timeoutNow[0]!);
    const appsBefore = c.sent
      .slice(0, firstTimeout)
      .filter((m) => m.type === MessageType.App && m.to === 3 && m.entries.length > 0);
    expect(appsBefore.length).toBeGreaterThan(0);
    expect(c.leader()?.id).toBe(3);
    expect(c.appliedData(3)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  test('proposals are refused during a transfer, and an unanswered transfer is abandoned', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    c.get(1).node.propose(data('x'));
    c.stabilize();
    c.get(1).node.transferLeadership(3);
    c.stabilize();
    let err: unknown;
    try {
      c.get(1).node.propose(data('y'));
    } catch (e) {
      err = e;
    }
    expect(isCairnError(err, ErrorCode.PROPOSAL_DROPPED)).toBe(true);
    expect(c.get(1).node.status().leadTransferee).toBe(3);
    expect(c.get(1).node.leadTransferee).toBe(3);
    c.tick(12, [1, 2]);
    expect(c.get(1).node.status().leadTransferee).toBe(0);
    expect(c.get(1).node.leadTransferee).toBe(0);
    expect(c.get(1).node.status().role).toBe(Role.Leader);
    c.get(1).node.propose(data('z'));
    c.stabilize();
    expect(c.appliedData(2)).toEqual(['x', 'z']);
  });

  test('a transfer to a learner is ignored', () => {
    const c = new TestCluster([1, 2], {}, [3]);
    c.elect(1);
    c.get(1).node.transferLeadership(3);
    c.stabilize();
    expect(c.get(1).node.status().leadTransferee).toBe(0);
    expect(c.leader()?.id).toBe(1);
  });
});
