/**
 * Proves the expedited election a follower runs when its link to the leader breaks: with
 * every random timeout at its largest (19 ticks for a base of 10), followers told of the
 * break campaign at the base timeout plus their extra ticks (staggered, so no split vote)
 * and the first elects itself at once; with every random timeout at its smallest, the extras
 * still decide the order (the draw is replaced, not just capped), so two followers never
 * campaign on the same tick; a leader that still lives keeps its other followers in lease,
 * so an expedited follower cut off from it alone changes neither the leader nor the term
 * (pre-vote); and leaders and leaderless nodes ignore it.
 */
import { describe, expect, test } from 'vitest';
import { Role } from '../../src/raft/index.js';
import { TestCluster } from './harness.js';

/** Every randomized election timeout at its largest: 2T - 1 ticks. */
const slowest = { prng: { nextInt: (n: number) => n - 1 } };
/** Every randomized election timeout at its smallest: T ticks. */
const fastest = { prng: { nextInt: (_n: number) => 0 } };

/** Ticks `ids` one at a time until `done` holds; returns how many ticks it took (at most limit). */
function ticksUntil(c: TestCluster, ids: number[], done: () => boolean, limit = 40): number {
  for (let t = 1; t <= limit; t++) {
    c.tick(1, ids);
    if (done()) return t;
  }
  return -1;
}

describe('expedited election after the link to the leader breaks', () => {
  test('followers told of the break campaign at base + extra (not at 19 ticks), the first by rank winning at once', () => {
    const c = new TestCluster([1, 2, 3], slowest);
    expect(c.elect(1)).toBe(Role.Leader);
    const term = c.get(1).node.status().term;
    c.isolate(1);
    c.get(2).node.expediteElection(2);
    c.get(3).node.expediteElection(4);
    const fast = ticksUntil(c, [2, 3], () => c.leader()?.id !== 1 && !!c.leader());
    expect(fast).toBe(12);
    expect(c.leader()!.id).toBe(2);
    expect(c.get(2).node.status().term).toBe(term + 1);
    expect(c.get(3).node.status().leader).toBe(2);
  });

  test('followers that drew the same short timeout still campaign in rank order: one election, no split vote', () => {
    // Both would campaign at the base timeout (10 ticks), on the same tick: each would pass
    // the other's pre-vote, both would stand in the next term and neither would win it.
    const c = new TestCluster([1, 2, 3], fastest);
    expect(c.elect(1)).toBe(Role.Leader);
    const term = c.get(1).node.status().term;
    c.isolate(1);
    c.get(2).node.expediteElection(2);
    c.get(3).node.expediteElection(4);
    expect(ticksUntil(c, [2, 3], () => !!c.leader() && c.leader()!.id !== 1)).toBe(12);
    expect(c.leader()!.id).toBe(2);
    // One campaign, won at once: the term moved by one, and node 3 never stood.
    expect(c.get(2).node.status().term).toBe(term + 1);
    expect(c.get(3).node.status()).toMatchObject({ role: Role.Follower, leader: 2, term: term + 1 });
  });

  test('a follower cut off from a leader that still lives cannot take over early: the other voter is in lease', () => {
    const c = new TestCluster([1, 2, 3], slowest);
    c.elect(1);
    const term = c.get(1).node.status().term;
    c.partition([1], [2]);
    c.get(2).node.expediteElection(2);
    c.tick(30);
    expect(c.get(1).node.status().role).toBe(Role.Leader);
    expect(c.get(3).node.status().leader).toBe(1);
    expect(c.get(1).node.status().term).toBe(term);
    expect(c.get(3).node.status().term).toBe(term);
  });

  test('a leader, and a node that knows no leader, ignore it', () => {
    const c = new TestCluster([1, 2, 3], slowest);
    c.elect(1);
    c.get(1).node.expediteElection(1);
    c.tick(25);
    expect(c.get(1).node.status().role).toBe(Role.Leader);

    const fresh = new TestCluster([1, 2, 3], slowest);
    fresh.get(2).node.expediteElection(1);
    // No leader known: node 2 keeps its random timeout (19 ticks).
    expect(ticksUntil(fresh, [2], () => fresh.get(2).node.status().role !== Role.Follower)).toBe(19);
  });
});
