/**
 * Proves how proposals are admitted: a follower forwards them to the leader, or refuses
 * with NOT_LEADER and a leader hint when forwarding is disabled; no leader means
 * PROPOSAL_DROPPED; an entry larger than a message is TOO_LARGE; uncommitted bytes beyond
 * the limit are refused with OVERLOADED and accepted again once they commit.
 */
import { describe, expect, test } from 'vitest';
import { type CairnError, ErrorCode } from '../../src/common/errors.js';
import { data, TestCluster } from './harness.js';

function errorOf(fn: () => void): CairnError | undefined {
  try {
    fn();
  } catch (err) {
    return err as CairnError;
  }
  return undefined;
}

describe('proposals', () => {
  test('a follower forwards proposals to the leader', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.get(3).node.propose(data('via-3'));
    c.stabilize();
    expect(c.appliedData(1)).toEqual(['via-3']);
  });

  test('with forwarding disabled a follower refuses with a leader hint', () => {
    const c = new TestCluster([1, 2, 3], { disableProposalForwarding: true });
    c.elect(1);
    const err = errorOf(() => c.get(2).node.propose(data('x')));
    expect(err?.code).toBe(ErrorCode.NOT_LEADER);
    expect(err?.leaderHint).toBe(1);
    expect(err?.retriable).toBe(true);
  });

  test('without a leader a proposal is dropped', () => {
    const c = new TestCluster([1, 2, 3]);
    expect(errorOf(() => c.get(1).node.propose(data('x')))?.code).toBe(ErrorCode.PROPOSAL_DROPPED);
  });

  test('an entry larger than one message is refused', () => {
    const c = new TestCluster([1, 2, 3], { messageSizeBytesMax: 1024 });
    c.elect(1);
    expect(errorOf(() => c.get(1).node.propose(new Uint8Array(2048)))?.code).toBe(ErrorCode.TOO_LARGE);
  });

  test('uncommitted bytes beyond the limit are refused until they commit', () => {
    const c = new TestCluster([1, 2, 3], { uncommittedSizeBytesMax: 1000 });
    c.elect(1);
    c.isolate(1);
    let accepted = 0;
    let refused: CairnError | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = errorOf(() => c.get(1).node.propose(new Uint8Array(100)));
      if (!refused) accepted++;
    }
    expect(refused?.code).toBe(ErrorCode.OVERLOADED);
    expect(accepted).toBe(10);
    c.heal();
    c.tick(3);
    expect(errorOf(() => c.get(1).node.propose(new Uint8Array(100)))).toBeUndefined();
  });
});
