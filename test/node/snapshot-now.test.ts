/**
 * Proves RaftNode.snapshotNow (what Defragment uses): on demand, between two Readies, the
 * node stores a snapshot at its applied index and compacts the log behind it, keeping the
 * catch-up entries, while writes keep flowing; and a stopped node refuses it.
 */
import { afterEach, expect, test } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { EntryKind } from '../../src/node/envelope.js';
import { eventually, type MemMember, retryRetriable, startMemCluster } from './support.js';

const enc = (s: string) => new TextEncoder().encode(s);
let running: MemMember[] = [];

afterEach(async () => {
  await Promise.all(running.map((m) => m.node.stop()));
  running = [];
});

test('snapshotNow stores a snapshot at the applied index and compacts the log behind it', async () => {
  running = startMemCluster([1, 2, 3]);
  const leader = await eventually(() => running.find((m) => m.node.status().role === 'leader'), 'a leader');
  for (let i = 0; i < 30; i++)
    await retryRetriable(() => leader.node.propose(EntryKind.Mvcc, enc(`k${i}=${i}`)));
  const member = running.find((m) => m !== leader)!;
  await member.node.linearizableBarrier();
  expect(member.storage.raftStorage.snapshot().metadata.index).toBe(0);

  const writes = Promise.all(
    [0, 1, 2].map((i) => retryRetriable(() => leader.node.propose(EntryKind.Mvcc, enc(`w${i}=${i}`)))),
  );
  await member.node.snapshotNow();
  const snapIndex = member.storage.raftStorage.snapshot().metadata.index;
  expect(snapIndex).toBeGreaterThanOrEqual(30);
  expect(snapIndex).toBeLessThanOrEqual(member.node.appliedIndex);
  // The support cluster keeps 5 catch-up entries behind a snapshot.
  expect(member.storage.raftStorage.firstIndex()).toBe(snapIndex - 5 + 1);
  await writes;

  await member.node.stop();
  const refused = await member.node.snapshotNow().catch((e: unknown) => e);
  expect(isCairnError(refused, ErrorCode.STOPPED)).toBe(true);
});
