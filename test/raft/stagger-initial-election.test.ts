/**
 * Proves the staggered initial election: members started together whose random timeouts
 * would all end on the same tick (every draw at the base timeout) split the vote again and
 * again when left to their draws, but campaign in the order of their extras once staggered:
 * one election, won by the first on the tick after the advance, the others never standing.
 * The stagger replaces the draw whichever way it went (a long draw is shortened too), and a
 * follower that knows its leader, or a leader, ignores it.
 */
import { describe, expect, test } from 'vitest';
import { Role } from '../../src/raft/index.js';
import { TestCluster } from './harness.js';

/** The harness's base election timeout, in ticks. */
const BASE_TICKS = 10;
/** Every randomized election timeout at its smallest: the base timeout. */
const fastest = { prng: { nextInt: (_n: number) => 0 } };
/** Every randomized election timeout at its largest: 2 * base - 1 ticks. */
const slowest = { prng: { nextInt: (n: number) => n - 1 } };

/** Ticks every member one tick at a time until some member leads; how many ticks that took (-1: none within limit). */
function ticksToLeader(c: TestCluster, limit = 40): number {
  for (let t = 1; t <= limit; t++) {
    c.tick(1);
    if (c.leader()) return t;
  }
  return -1;
}

/** The initial advance as the node runs it: the stagger (when given), then the clock one tick short of the base. */
function advance(c: TestCluster, extras: ReadonlyMap<number, number> | undefined): void {
  for (const id of [1, 2, 3]) {
    const node = c.get(id).node;
    const extra = extras?.get(id);
    if (extra !== undefined) node.staggerInitialElection(extra);
    node.advanceElectionClock(BASE_TICKS - 1);
  }
}

describe('staggered initial election', () => {
  test('left to equal draws, members started together campaign on the same tick and split the vote', () => {
    const c = new TestCluster([1, 2, 3], fastest);
    const term = c.get(1).node.status().term;
    advance(c, undefined);
    // Every member stands on the same tick, each for itself, in every term: nobody wins.
    expect(ticksToLeader(c)).toBe(-1);
    expect(c.get(1).node.status().term).toBeGreaterThan(term + 1);
  });

  test('staggered by rank, the same draws give one election, won by the first on the next tick', () => {
    const c = new TestCluster([1, 2, 3], fastest);
    const term = c.get(1).node.status().term;
    advance(
      c,
      new Map([
        [1, 0],
        [2, 2],
        [3, 4],
      ]),
    );
    expect(ticksToLeader(c)).toBe(1);
    expect(c.leader()!.id).toBe(1);
    // One campaign: the term moved by one and the others never stood.
    for (const id of [1, 2, 3]) expect(c.get(id).node.status().term).toBe(term + 1);
    expect(c.get(2).node.status()).toMatchObject({ role: Role.Follower, leader: 1 });
    expect(c.get(3).node.status()).toMatchObject({ role: Role.Follower, leader: 1 });
  });

  test('the stagger replaces a long draw too: the first by rank campaigns after its extra, not after 19 ticks', () => {
    const c = new TestCluster([1, 2, 3], slowest);
    // Member 1 is missing (not ticked): member 2, second by rank, goes first after its extra.
    advance(
      c,
      new Map([
        [1, 0],
        [2, 2],
        [3, 4],
      ]),
    );
    c.isolate(1);
    let ticks = -1;
    for (let t = 1; t <= 40 && ticks < 0; t++) {
      c.tick(1, [2, 3]);
      if (c.get(2).node.status().role === Role.Leader) ticks = t;
    }
    // Base 10, advanced by 9, extra 2: three more ticks.
    expect(ticks).toBe(3);
    expect(c.get(3).node.status()).toMatchObject({ role: Role.Follower, leader: 2 });
  });

  test('a follower that knows its leader, and a leader, ignore it', () => {
    const c = new TestCluster([1, 2, 3], slowest);
    expect(c.elect(1)).toBe(Role.Leader);
    const term = c.get(1).node.status().term;
    c.get(1).node.staggerInitialElection(0);
    c.get(2).node.staggerInitialElection(0);
    c.isolate(1);
    // Node 2 keeps its drawn timeout (19 ticks): with the stagger it would have stood after 10.
    let ticks = -1;
    for (let t = 1; t <= 40 && ticks < 0; t++) {
      c.tick(1, [2, 3]);
      if (c.get(2).node.status().role !== Role.Follower) ticks = t;
    }
    expect(ticks).toBe(2 * BASE_TICKS - 1);
    expect(c.get(1).node.status()).toMatchObject({ role: Role.Leader, term });
  });
});
