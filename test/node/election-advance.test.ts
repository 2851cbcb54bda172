/**
 * Proves the initial election advance (etcd's --initial-election-tick-advance): once a peer
 * is known to be up (or when it is the only voter), a member that knows no leader brings its
 * election clock forward to one tick short of the election timeout and campaigns after a
 * wait set by its rank among the voters, not by its random draw, so a cluster started as
 * a whole elects within a few ticks instead of a whole timeout later; without that news,
 * nobody can campaign before the timeout. And when the connection to a killed leader breaks,
 * the first follower by rank elects itself two ticks after the base timeout instead of
 * after its random one. And a member's ticks come at its tick phase: started together, two
 * members with different phases tick apart, so equal random timeouts do not end together.
 * Ticks come from fake interval timers, so the counts are exact.
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

function start(ids = [1, 2, 3], seeds = SEEDS): MemMember[] {
  const hub = new Hub();
  const cs = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  running = ids.map((id, i) =>
    startMember(hub, id, new MemNodeStorage(cs), new TextStateMachine(), 1_000_000, seeds[i]),
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

test('members that hear a peer is up campaign in the order of their ids, whatever they drew', async () => {
  // Member 1 (first by id) hears nothing and waits out its random timeout; members 2 and 3
  // hear of each other. Member 2, second by id, campaigns 1 + 2 ticks after its advance and
  // wins; member 3, two ticks later again, never stands.
  const members = start([1, 2, 3], [11, 22, 33]);
  members[1]!.node.peerActive(3);
  members[2]!.node.peerActive(2);
  let ticks = -1;
  for (let t = 1; t <= 3 * ELECTION_TICKS && ticks < 0; t++) {
    await tick(1);
    if (members.some((m) => m.node.status().role === 'leader')) ticks = t;
  }
  // Advanced on the first tick: one tick short of the base timeout, plus its 2 extra.
  expect(ticks).toBe(3);
  expect(members[1]!.node.status()).toMatchObject({ role: 'leader', term: 2 });
  for (const i of [0, 2])
    expect(members[i]!.node.status()).toMatchObject({ role: 'follower', leader: 2, term: 2 });
});

/** Seeds whose followers draw long random timeouts (the first campaigns 19 ticks after the leader stops; found by trying, the runs are deterministic). */
const SLOW_FOLLOWER_SEEDS = [11, 101, 909];

/** Starts three members, lets member 1 win the first election, then stops it (a killed leader). */
async function leaderKilled(seeds = SLOW_FOLLOWER_SEEDS): Promise<MemMember[]> {
  const members = start([1, 2, 3], seeds);
  members[0]!.node.peerActive(2);
  await tick(ELECTION_TICKS - 1);
  expect(members[0]!.node.status().role).toBe('leader');
  await members[0]!.node.stop();
  return members;
}

/** Ticks until a member other than 1 leads; how many ticks that took (at most limit). */
async function ticksToNewLeader(members: MemMember[], limit = 3 * ELECTION_TICKS): Promise<number> {
  for (let t = 1; t <= limit; t++) {
    await tick(1);
    if (members.slice(1).some((m) => m.node.status().role === 'leader')) return t;
  }
  return -1;
}

test('followers told that the link to their leader broke elect a new one two ticks after the base timeout', async () => {
  const members = await leaderKilled();
  members[1]!.node.peerDown(1);
  members[2]!.node.peerDown(1);
  // Member 2 is first by rank among the voters but the leader: it campaigns at 10 + 2 ticks.
  expect(await ticksToNewLeader(members)).toBe(ELECTION_TICKS + 2);
  expect(members[1]!.node.status()).toMatchObject({ role: 'leader', term: 3 });
  expect(members[2]!.node.status()).toMatchObject({ role: 'follower', leader: 2, term: 3 });
});

test('without that news (or with news of a peer that does not lead) they wait out their random timeouts', async () => {
  const members = await leaderKilled();
  members[1]!.node.peerDown(3);
  members[2]!.node.peerDown(2);
  expect(await ticksToNewLeader(members)).toBeGreaterThan(ELECTION_TICKS + 2);
});

test('a member ticks at its tick phase: with a phase of 3 ms it elects itself exactly 3 ms later', async () => {
  // The phase is a timeout before the interval: fake both, and step the clock 1 ms at a time.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
  const msToLead = async (tickPhaseMs: number): Promise<number> => {
    const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const only = startMember<number, TextStateMachine>(
      new Hub(),
      1,
      new MemNodeStorage(cs),
      new TextStateMachine(),
      1_000_000,
      SEEDS[0],
      undefined,
      false,
      tickPhaseMs,
    );
    running.push(only);
    for (let ms = 1; ms <= 3 * ELECTION_TICKS * TICK_MS; ms++) {
      vi.advanceTimersByTime(1);
      await settle();
      if (only.node.status().role === 'leader') return ms;
    }
    return -1;
  };
  const inStep = await msToLead(0);
  const shifted = await msToLead(3);
  // Same seed, same number of ticks to the election: only the phase differs.
  expect(inStep).toBeGreaterThan(0);
  expect(shifted).toBe(inStep + 3);
});
