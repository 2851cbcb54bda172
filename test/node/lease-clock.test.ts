/**
 * Proves the runtime keeps a leader's lease clock on a monotonic clock: with lease reads on,
 * a leader holds its lease once a heartbeat round is acknowledged; after its event loop was
 * blocked for longer than the lease (no timer could tick meanwhile) it no longer holds it,
 * and a linearizable read then renews it with a round instead of trusting a stale lease.
 * Writes acknowledged by the leader are seen by linearizable reads on every member.
 */
import { afterEach, expect, test } from 'vitest';
import { EntryKind } from '../../src/node/envelope.js';
import { eventually, Hub, type MemMember, retryRetriable, startMemCluster } from './support.js';

/** The support cluster's timing: 5 ms ticks, 10 ticks per election timeout, so a 35 ms lease. */
const LEASE_MS = 7 * 5;

let running: MemMember[] = [];

afterEach(async () => {
  await Promise.all(running.map((m) => m.node.stop()));
  running = [];
});

function start(): MemMember[] {
  running = startMemCluster([1, 2, 3], new Hub(), 1_000_000, undefined, true);
  return running;
}

function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: no timer, message or write runs meanwhile.
  }
}

test('a leader blocked past its lease stops holding it until a round renews it', async () => {
  const members = start();
  const leader = await eventually(
    () => members.find((m) => m.node.status().role === 'leader' && m.node.holdsReadLease()),
    'a leader holding its lease',
  );
  blockEventLoop(LEASE_MS * 4);
  expect(leader.node.holdsReadLease()).toBe(false);
  await retryRetriable(() => leader.node.linearizableBarrier());
  await eventually(() => (leader.node.holdsReadLease() ? true : undefined), 'the lease renewed');
});

test('with lease reads, a write acknowledged by the leader is seen by a linearizable read on every member', async () => {
  const members = start();
  for (let i = 0; i < 20; i++) {
    await retryRetriable(() =>
      members[i % 3]!.node.propose(EntryKind.Mvcc, new TextEncoder().encode(`k=${i}`)),
    );
    for (const m of members) {
      await retryRetriable(() => m.node.linearizableBarrier());
      expect(m.sm.data.get('k'), `member ${m.id} after write ${i}`).toBe(String(i));
    }
  }
});
