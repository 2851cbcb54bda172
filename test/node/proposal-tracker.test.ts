/**
 * Proves the proposal tracker's leader bookkeeping: when the leader changes, exactly the
 * waiters whose proposals went to another leader fail (with the error given), and those
 * already handed to the new leader keep waiting for their result.
 */
import { expect, test } from 'vitest';
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import { ProposalTracker } from '../../src/node/proposal-tracker.js';

test('failUnlessLeader fails the proposals of other leaders only', async () => {
  const t = new ProposalTracker<string>(10, 60_000, 0);
  const toOld = t.register(1);
  const toNew = t.register(2);
  const err = new CairnError(ErrorCode.TIMEOUT_DUE_TO_LEADER_FAIL, 'leader changed');
  expect(t.failUnlessLeader(2, err)).toBe(1);
  await expect(toOld.result).rejects.toBe(err);
  expect(t.pending).toBe(1);
  t.resolve(toNew.seq, 'applied');
  await expect(toNew.result).resolves.toBe('applied');
  expect(t.pending).toBe(0);
});
