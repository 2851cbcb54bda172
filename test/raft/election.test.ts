/**
 * Proves leader election: timeouts are randomized within [T, 2T), a cluster driven only by
 * ticks elects exactly one leader, votes are granted once per term and only to candidates
 * whose log is at least as up to date, and a single voter elects itself.
 */
import { describe, expect, test } from 'vitest';
import { decodeConfChange, MemoryStorage, MessageType, RawNode, Role } from '../../src/raft/index.js';
import { data, TestCluster, testPrng } from './harness.js';

describe('election', () => {
  test('randomized election timeouts spread over [T, 2T)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const node = new RawNode({
        id: 9,
        storage: new MemoryStorage({
          voters: [9, 2, 3],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        }),
        electionTimeoutTicks: 10,
        heartbeatIntervalTicks: 1,
        prng: testPrng(seed),
      });
      // Apply the bootstrap entries so that the node may campaign.
      const rd = node.ready();
      for (const e of rd.committedEntries) node.applyConfChange(decodeConfChange(e.data));
      node.advance(rd);
      let ticks = 0;
      while (node.status().role === Role.Follower) {
        node.tick();
        ticks++;
        expect(ticks).toBeLessThan(20);
      }
      seen.add(ticks);
    }
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...seen)).toBeLessThanOrEqual(19);
    expect(seen.size).toBeGreaterThan(5);
  });

  test('ticks alone elect exactly one leader that every member follows', () => {
    const c = new TestCluster([1, 2, 3, 4, 5]);
    c.tick(40);
    const leaders = [...c.members.values()].filter((m) => m.node.status().role === Role.Leader);
    expect(leaders).toHaveLength(1);
    const lead = leaders[0]!.id;
    for (const m of c.members.values()) expect(m.node.status().leader).toBe(lead);
  });

  test('a single voter elects itself and commits alone', () => {
    const c = new TestCluster([1]);
    expect(c.elect(1)).toBe(Role.Leader);
    c.get(1).node.propose(data('x'));
    c.stabilize();
    expect(c.appliedData(1)).toEqual(['x']);
  });

  test('a voter grants one vote per term and refuses a candidate with a shorter log', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    c.elect(1);
    c.get(1).node.propose(data('a'));
    c.stabilize();
    // Node 3 misses an entry that 1 and 2 have.
    c.isolate(3);
    c.get(1).node.propose(data('b'));
    c.stabilize();
    c.heal();
    c.sent = [];
    c.get(3).node.campaign();
    c.stabilize();
    const resps = c.sentOf(MessageType.VoteResp).filter((m) => m.to === 3);
    expect(resps.length).toBe(2);
    expect(resps.every((m) => m.reject)).toBe(true);
    expect(c.get(3).node.status().role).not.toBe(Role.Leader);
    // The up-to-date node 2 can win the next term; node 3 then follows it.
    expect(c.elect(2)).toBe(Role.Leader);
    expect(c.get(3).node.status().leader).toBe(2);
    const votesInTerm = c.sentOf(MessageType.VoteResp).filter((m) => m.from === 1 && !m.reject);
    const terms = votesInTerm.map((m) => m.term);
    expect(new Set(terms).size).toBe(terms.length);
  });
});

describe('bootstrap', () => {
  test("a founding member's first Ready persists the bootstrap hard state and entries", () => {
    const storage = new MemoryStorage({
      voters: [1, 2, 3],
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    });
    const node = new RawNode({
      id: 1,
      storage,
      electionTimeoutTicks: 10,
      heartbeatIntervalTicks: 1,
      prng: testPrng(1),
    });
    const rd = node.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 0, commit: 3 });
    expect(rd.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(rd.mustSync).toBe(true);
  });
});
