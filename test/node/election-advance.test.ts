/**
 * Proves the initial election advance (etcd's --initial-election-tick-advance): once a peer
 * is known to be up (or when it is the only voter), a member that knows no leader brings its
 * election clock forward to one tick short of the election timeout, so a cluster started as
 * a whole elects within a few ticks instead of a whole timeout later; without that news,
 * nobody can campaign before the timeout. Ticks come from fake interval timers, so the
 * counts are exact.
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { Hub, type MemMember, MemNodeStorage, startMember, TextStateMachine } from './support.js';

/** The support cluster's settings: 10 ticks of 5 ms per election timeout. */
const ELECTION_TICKS = 10;
const TICK_MS = 5;
/** Fixed seeds: the runs are the same every time. */
const SEEDS = [11, 22, 33];

let running: MemMember[] = [];

beforeEach(() => {
  // Only the tickers are fake: storage and the hub's deliveries still run on real setImmediate.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
});

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(running.map((m) => m.node.stop()));
  running = [];
});

function start(ids = [1, 2, 3]): MemMember[] {
  const hub = new Hub();
  const cs = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  running = ids.map((id, i) =>
    startMember(hub, id, new MemNodeStorage(cs), new TextStateMachine(), 1_000_000, SEEDS[i]),
  );
  return running;
}

/** Lets queued deliveries and persists run (real setImmediate), a few rounds. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

async function tick(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    vi.advanceTimersByTime(TICK_MS);
    await settle();
  }
}

test('without news of a peer, no member campaigns before the election timeout', async () => {
  const members = start();
  await tick(ELECTION_TICKS - 1);
  for (const m of members) {
    expect(m.node.status().role).toBe('follower');
    expect(m.node.status().term).toBe(1);
  }
});

test('a member that hears a peer is up campaigns within one election timeout, before the others could', async () => {
  const members = start();
  members[0]!.node.peerActive(2);
  await tick(ELECTION_TICKS - 1);
  const leader = members[0]!.node.status();
  expect(leader.role).toBe('leader');
  // One election, won by the advanced member: nobody else ever became a candidate.
  expect(leader.term).toBe(2);
  for (const m of members.slice(1)) expect(m.node.status()).toMatchObject({ role: 'follower', leader: 1 });
});

test('the advance happens once, and not when a leader is known', async () => {
  const members = start();
  members[0]!.node.peerActive(2);
  await tick(ELECTION_TICKS - 1);
  expect(members[0]!.node.status().role).toBe('leader');
  // Followers that know their leader ignore the news: no campaign, the term stays.
  members[1]!.node.peerActive(3);
  members[2]!.node.peerActive(1);
  await tick(ELECTION_TICKS - 1);
  for (const m of members) expect(m.node.status().term).toBe(2);
  expect(members[0]!.node.status().role).toBe('leader');
});

test('the only voter elects itself within one election timeout', async () => {
  const [only] = start([1]);
  await tick(ELECTION_TICKS - 1);
  expect(only!.node.status()).toMatchObject({ role: 'leader', term: 2 });
});
