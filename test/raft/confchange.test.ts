/**
 * Proves membership changes: a learner receives the log but never votes or counts for
 * commit, and is promoted once caught up; only one change may be in flight; a joint
 * configuration needs both majorities and is left automatically (implicit) or on request
 * (explicit); a leader that removes itself steps down and the rest elect a new one; and
 * the codec round-trips every change.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import {
  type ConfChange,
  ConfChangeTransition,
  ConfChangeType,
  decodeConfChange,
  encodeConfChange,
  Role,
} from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

const EMPTY = new Uint8Array(0);
const add = (nodeId: number) => ({ type: ConfChangeType.AddNode, nodeId });
const learner = (nodeId: number) => ({ type: ConfChangeType.AddLearnerNode, nodeId });
const remove = (nodeId: number) => ({ type: ConfChangeType.RemoveNode, nodeId });
const cc = (changes: ConfChange['changes'], transition = ConfChangeTransition.Auto): ConfChange => ({
  transition,
  changes,
  context: EMPTY,
});
const joining = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

function rejected(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isCairnError(err, ErrorCode.CONF_CHANGE_REJECTED);
  }
}

describe('membership changes', () => {
  test('a learner catches up without voting, then is promoted to voter', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.propose(data('before'));
    c.stabilize();
    c.addMember(4, joining);
    c.get(1).node.proposeConfChange(cc([learner(4)]));
    c.stabilize();
    c.tick(3);
    expect(c.get(1).node.status().config.learners).toEqual([4]);
    expect(c.appliedData(4)).toEqual(['before']);
    // A learner never campaigns, however long it waits.
    c.isolate(4);
    c.tick(40, [4]);
    expect(c.get(4).node.status().role).toBe(Role.Follower);
    c.heal();
    c.tick(2);
    c.get(1).node.proposeConfChange(cc([add(4)]));
    c.stabilize();
    expect(c.get(1).node.status().config.voters).toEqual([1, 2, 3, 4]);
    expect(c.get(4).node.status().config.voters).toEqual([1, 2, 3, 4]);
  });

  test('only one change may be in flight', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(2);
    c.isolate(3);
    c.get(1).node.proposeConfChange(cc([learner(4)]));
    c.stabilize();
    expect(rejected(() => c.get(1).node.proposeConfChange(cc([learner(5)])))).toBe(true);
    c.heal();
    c.addMember(4, joining);
    c.tick(3);
    expect(rejected(() => c.get(1).node.proposeConfChange(cc([learner(5)])))).toBe(false);
  });

  test('a change that would remove every voter or change two voters at once without joint is refused', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(
      rejected(() =>
        c
          .get(1)
          .node.proposeConfChange(cc([remove(1), remove(2), remove(3)], ConfChangeTransition.JointExplicit)),
      ),
    ).toBe(true);
    expect(rejected(() => c.get(1).node.proposeConfChange(cc([], ConfChangeTransition.Auto)))).toBe(true);
  });

  test('joint consensus replaces two of three voters; during joint both majorities are needed', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.addMember(4, joining);
    c.addMember(5, joining);
    c.get(1).node.proposeConfChange(
      cc([add(4), add(5), remove(2), remove(3)], ConfChangeTransition.JointExplicit),
    );
    c.stabilize();
    c.tick(3);
    const joint = c.get(1).node.status().config;
    expect(joint.voters).toEqual([1, 4, 5]);
    expect(joint.votersOutgoing).toEqual([1, 2, 3]);
    // With the old majority's other members cut off, nothing commits even though the new majority (1,4,5) acks.
    c.partition([2, 3], [1, 4, 5]);
    const before = c.get(1).node.status().commit;
    c.get(1).node.propose(data('needs-both'));
    c.stabilize();
    expect(c.get(1).node.status().commit).toBe(before);
    c.heal();
    c.tick(2);
    expect(c.appliedData(4)).toContain('needs-both');
    // Leaving the joint configuration explicitly: the new voters alone decide.
    c.get(1).node.proposeConfChange(cc([]));
    c.stabilize();
    c.tick(2);
    expect(c.get(1).node.status().config).toMatchObject({ voters: [1, 4, 5], votersOutgoing: [] });
    c.isolate(2);
    c.isolate(3);
    c.get(1).node.propose(data('new-majority'));
    c.stabilize();
    expect(c.appliedData(5)).toContain('new-majority');
  });

  test('an implicit joint configuration is left by the leader on its own', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.addMember(4, joining);
    c.get(1).node.proposeConfChange(cc([add(4), remove(3)], ConfChangeTransition.JointImplicit));
    c.stabilize();
    c.tick(5);
    for (const id of [1, 2, 4])
      expect(c.get(id).node.status().config).toMatchObject({ voters: [1, 2, 4], votersOutgoing: [] });
  });

  test('a leader that removes itself steps down and the others elect a leader', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.proposeConfChange(cc([remove(1)]));
    c.stabilize();
    expect(c.get(1).node.status().role).toBe(Role.Follower);
    c.isolate(1);
    c.tick(40, [2, 3]);
    const lead = c.leader();
    expect(lead && [2, 3].includes(lead.id)).toBe(true);
    expect(lead?.node.status().config.voters).toEqual([2, 3]);
  });

  test('the codec round-trips changes, large ids and context, and refuses garbage', () => {
    const change: ConfChange = {
      transition: ConfChangeTransition.JointExplicit,
      changes: [add(1), learner(2 ** 52 + 7), remove(99)],
      context: data('peer-url'),
    };
    expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
    expect(() => decodeConfChange(new Uint8Array([9, 9, 9]))).toThrow(/malformed/);
    const bytes = encodeConfChange(change);
    expect(() => decodeConfChange(bytes.slice(0, bytes.length - 1))).toThrow(/malformed/);
  });
});
