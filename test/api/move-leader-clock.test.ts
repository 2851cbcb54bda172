/**
 * Proves MoveLeader's wait is timed by a monotonic clock: with Date.now jumping ten minutes
 * forwards while the transfer is under way, the call still waits for the new leader instead
 * of answering a leader-transfer timeout at once (a regression found by the chaos harness's
 * clock-jump fault); and it still times out when the transfer never happens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { moveLeader } from '../../src/api/move-leader.js';
import type { LeadershipPort } from '../../src/api/ports.js';

const realNow = Date.now;
afterEach(() => {
  Date.now = realNow;
});

function port(leadsAfterPolls: number): LeadershipPort {
  let polls = 0;
  let target = 0;
  return {
    selfId: 1,
    pollIntervalMs: 5,
    leader: () => {
      if (target === 0) return 1;
      // The wall clock jumps forwards while the transfer is under way.
      Date.now = () => realNow() + 10 * 60_000;
      return ++polls > leadsAfterPolls ? target : 1;
    },
    isVoter: () => true,
    transferLeadership: (to) => {
      target = to;
    },
    transferring: () => target !== 0,
  };
}

describe('moveLeader under a wall-clock jump', () => {
  it('waits for the transfer although the wall clock jumped past the timeout', async () => {
    await expect(moveLeader(port(5), 2, 5_000)).resolves.toBeUndefined();
  });

  it('still answers a timeout when leadership never moves', async () => {
    await expect(moveLeader(port(Number.POSITIVE_INFINITY), 2, 50)).rejects.toThrow(
      /leader transfer took too long/,
    );
  });
});
