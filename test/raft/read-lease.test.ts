/**
 * Proves lease-based reads (src/raft/read-lease.ts): a leader answers reads without a
 * heartbeat round only while a quorum acknowledged one of its heartbeats within
 * leaseTicksFor(electionTimeout) ticks; no other member is elected while that lease holds,
 * including a voter that restarted and forgot whom it acknowledged; a leader that sent
 * TimeoutNow stops leasing for its term; reads that find no lease wait for the next round.
 */
import { describe, expect, test } from 'vitest';
import {
  MemoryStorage,
  type Message,
  MessageType,
  RawNode,
  ReadOnlyOption,
  Role,
} from '../../src/raft/index.js';
import { leaseTicksFor } from '../../src/raft/read-lease.js';
import { data, TestCluster, testPrng } from './harness.js';

const LEASE = { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true, preVote: true };
const ELECTION_TICKS = 10;

/** Starts a read on member `id` and runs the cluster until it settles; returns the heartbeats sent meanwhile. */
function readAt(c: TestCluster, id: number, ctx: string): Message[] {
  c.sent = [];
  c.get(id).node.readIndex(data(ctx));
  c.stabilize();
  return c.sentOf(MessageType.Heartbeat);
}

/** The contexts of the reads member `id` has been answered, in order. */
function answered(c: TestCluster, id: number): string[] {
  return c.get(id).readStates.map((r) => new TextDecoder().decode(r.context));
}

/** A three-member lease cluster whose leader (1) has had one heartbeat round acknowledged. */
function leasedCluster(): TestCluster {
  const c = new TestCluster([1, 2, 3], LEASE);
  expect(c.elect(1)).toBe(Role.Leader);
  c.tick(1, [1]);
  expect(c.get(1).node.holdsReadLease()).toBe(true);
  return c;
}

describe('lease-based reads', () => {
  test('a read waits for the first acknowledged heartbeat round, later reads take none', () => {
    const c = new TestCluster([1, 2, 3], LEASE);
    c.elect(1);
    expect(c.get(1).node.holdsReadLease()).toBe(false);
    expect(readAt(c, 1, 'first')).toHaveLength(2);
    expect(answered(c, 1)).toEqual(['first']);
    expect(readAt(c, 1, 'second')).toHaveLength(0);
    expect(answered(c, 1)).toEqual(['first', 'second']);
    expect(c.get(1).readStates[1]!.index).toBe(c.get(1).node.status().commit);
  });

  test('a follower read is answered by the leased leader without a round', () => {
    const c = leasedCluster();
    c.get(1).node.propose(data('w'));
    c.stabilize();
    expect(readAt(c, 3, 'f')).toHaveLength(0);
    expect(answered(c, 3)).toEqual(['f']);
    expect(c.get(3).readStates[0]!.index).toBe(c.get(1).node.status().commit);
  });

  test('the lease lasts leaseTicksFor(election timeout) ticks past the newest acknowledged stamp', () => {
    const c = leasedCluster();
    const lease = leaseTicksFor(ELECTION_TICKS);
    expect(lease).toBe(7);
    c.isolate(1);
    for (let t = 1; t < lease; t++) {
      c.tick(1, [1]);
      expect(c.get(1).node.holdsReadLease(), `tick ${t}`).toBe(true);
    }
    c.tick(1, [1]);
    expect(c.get(1).node.status().role).toBe(Role.Leader);
    expect(c.get(1).node.holdsReadLease()).toBe(false);
    // A read now waits (and asks for a round) instead of being answered.
    expect(readAt(c, 1, 'late').length).toBeGreaterThan(0);
    expect(answered(c, 1)).not.toContain('late');
    // Once a quorum answers a heartbeat again, the waiting read is answered.
    c.heal();
    c.tick(1, [1]);
    expect(answered(c, 1)).toContain('late');
  });

  test('nobody is elected while a cut-off leader still holds its lease', () => {
    const c = leasedCluster();
    c.isolate(1);
    let sawLease = false;
    for (let t = 0; t < 60; t++) {
      c.tick(1);
      const oldHolds = c.get(1).node.holdsReadLease();
      sawLease ||= oldHolds;
      const newer = [2, 3].filter((id) => c.get(id).node.status().role === Role.Leader);
      if (newer.length > 0) {
        expect(oldHolds, `tick ${t}`).toBe(false);
        expect(sawLease).toBe(true);
        return;
      }
    }
    throw new Error('no new leader within 60 ticks');
  });

  test('a voter that restarted refuses votes for an election timeout: it may have acknowledged the leader', () => {
    const c = new TestCluster([1, 2, 3], LEASE);
    c.elect(1);
    // Member 3 hears nothing from 1: its election clock runs out, but 2 keeps 1's lease.
    c.partition([1], [3]);
    c.tick(ELECTION_TICKS * 2);
    expect(c.get(1).node.holdsReadLease()).toBe(true);
    expect(c.get(3).node.status().role).not.toBe(Role.Leader);
    // Member 2 restarts and loses 1's heartbeats; 1 still holds the lease 2 helped it get.
    c.restart(2);
    c.isolate(1);
    let t = 0;
    while (c.get(1).node.holdsReadLease()) {
      c.tick(1);
      t++;
      expect(c.get(3).node.status().role, `tick ${t}`).not.toBe(Role.Leader);
    }
    // After its startup lease, 2 takes part again and 2 and 3 elect one of them.
    const elected = () => [2, 3].find((id) => c.get(id).node.status().role === Role.Leader);
    for (let i = 0; i < ELECTION_TICKS * 4 && elected() === undefined; i++) c.tick(1);
    expect(elected()).toBeDefined();
    expect(t).toBeGreaterThanOrEqual(leaseTicksFor(ELECTION_TICKS) - 1);
  });

  test('a restarted member neither campaigns nor votes within its startup lease, even with its election clock advanced', () => {
    const c = new TestCluster([1, 2, 3], LEASE);
    for (const id of [1, 2, 3]) c.restart(id);
    for (const id of [1, 2, 3]) c.get(id).node.advanceElectionClock(ELECTION_TICKS - 1);
    c.sent = [];
    c.tick(ELECTION_TICKS - 1);
    expect(c.sentOf(MessageType.PreVote)).toHaveLength(0);
    expect(c.sentOf(MessageType.Vote)).toHaveLength(0);
    for (let i = 0; i < ELECTION_TICKS * 4 && !c.leader(); i++) c.tick(1);
    expect(c.leader()).toBeDefined();
  });

  test('a leader that sent TimeoutNow stops leasing and confirms reads with a ReadIndex round', () => {
    const c = leasedCluster();
    // The transferee never gets the TimeoutNow, so 1 stays leader with the transfer pending.
    c.filters.push((m) => m.type !== MessageType.TimeoutNow);
    c.get(1).node.transferLeadership(2);
    c.stabilize();
    expect(c.sentOf(MessageType.TimeoutNow)).toHaveLength(1);
    expect(c.get(1).node.status().role).toBe(Role.Leader);
    expect(c.get(1).node.holdsReadLease()).toBe(false);
    const rounds = readAt(c, 1, 'after-transfer').filter((m) => (m.context?.byteLength ?? 0) > 0);
    expect(rounds).toHaveLength(2);
    expect(answered(c, 1)).toContain('after-transfer');
    // The transfer times out, 1 stays leader, and the lease does not come back in this term.
    c.tick(ELECTION_TICKS * 2, [1]);
    expect(c.get(1).node.status().role).toBe(Role.Leader);
    expect(c.get(1).node.holdsReadLease()).toBe(false);
  });

  test('lease-based reads need check-quorum and an election timeout of at least 4 ticks', () => {
    const make = (checkQuorum: boolean, electionTimeoutTicks: number) =>
      new RawNode({
        id: 1,
        storage: new MemoryStorage(),
        electionTimeoutTicks,
        heartbeatIntervalTicks: 1,
        prng: testPrng(1),
        checkQuorum,
        readOnlyOption: ReadOnlyOption.LeaseBased,
      });
    expect(() => make(false, 10)).toThrow(/require checkQuorum/);
    expect(() => make(true, 3)).toThrow(/at least 4 ticks/);
    expect(() => make(true, 4)).not.toThrow();
  });
});
