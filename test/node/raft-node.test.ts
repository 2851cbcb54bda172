/**
 * Proves the node runtime over in-memory ports: three RaftNodes elect a leader, a write
 * proposed on any member resolves with its applied index once applied there, linearizable
 * barriers see every acknowledged write, a write is never applied before it is synced
 * locally (single member), killing the leader loses no acknowledged write, and a member
 * that missed compacted entries catches up by snapshot, a proposal lost on its way to a
 * leader that then fails is answered (outcome unknown) when the leader changes, and one the
 * transport could not forward fails at once with a retriable error. And a node started while
 * its state machine loads (startLoading): with one member of three down, it makes the quorum,
 * never leads and applies nothing until loaded, then applies everything committed meanwhile,
 * in order, and may lead; with every member loading nobody leads, and the first loaded does.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { EntryKind } from '../../src/node/envelope.js';
import {
  eventually,
  Hub,
  type MemMember,
  MemNodeStorage,
  retryRetriable,
  startMember,
  startMemCluster,
  TextStateMachine,
} from './support.js';

const enc = (s: string) => new TextEncoder().encode(s);
let running: MemMember[] = [];

afterEach(async () => {
  await Promise.all(running.map((m) => m.node.stop()));
  running = [];
});

function leaderOf(members: MemMember[]): MemMember | undefined {
  return members.find((m) => m.node.status().role === 'leader');
}

describe('RaftNode', () => {
  test('writes through any member are applied everywhere, and barriers see them', async () => {
    running = startMemCluster([1, 2, 3]);
    await eventually(() => leaderOf(running), 'a leader');
    const results = await Promise.all(
      running.map((m, i) => retryRetriable(() => m.node.propose(EntryKind.Mvcc, enc(`k${i}=v${i}`)))),
    );
    expect(new Set(results).size).toBe(3);
    for (const m of running) {
      await retryRetriable(() => m.node.linearizableBarrier());
      expect(m.sm.data.get('k0')).toBe('v0');
      expect(m.sm.data.get('k2')).toBe('v2');
    }
  });

  test('a single member never applies an entry before it is synced', async () => {
    const hub = new Hub();
    running = startMemCluster([7], hub);
    await eventually(() => leaderOf(running), 'a leader');
    const m = running[0]!;
    const index = await retryRetriable(() => m.node.propose(EntryKind.Mvcc, enc('a=1')));
    expect(m.storage.raftStorage.lastIndex()).toBeGreaterThanOrEqual(index);
    expect(m.storage.raftStorage.term(index)).toBeGreaterThan(0);
  });

  test('killing the leader loses no acknowledged write; a new leader serves', async () => {
    const hub = new Hub();
    running = startMemCluster([1, 2, 3], hub);
    const first = await eventually(() => leaderOf(running), 'a leader');
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      await retryRetriable(() => first.node.propose(EntryKind.Mvcc, enc(`w${i}=${i}`)));
      acked.push(`w${i}`);
    }
    hub.down.add(first.id);
    await first.node.stop();
    const rest = running.filter((m) => m !== first);
    const second = await eventually(() => leaderOf(rest), 'a new leader');
    await retryRetriable(() => second.node.propose(EntryKind.Mvcc, enc('after=1')));
    for (const m of rest) {
      await retryRetriable(() => m.node.linearizableBarrier());
      for (const k of acked) expect(m.sm.data.has(k)).toBe(true);
    }
  });

  test('a proposal forwarded to a leader that then fails gets an outcome-unknown error at the leader change, not at the timeout', async () => {
    const hub = new Hub();
    running = startMemCluster([1, 2, 3], hub);
    const lead = await eventually(() => leaderOf(running), 'a leader');
    const follower = running.find((m) => m !== lead)!;
    // The follower must know the leader first: without one it refuses at once (no leader).
    await eventually(() => follower.node.leader === lead.id || undefined, 'the follower knows the leader');
    // The follower still hears the leader, but what it forwards is lost on the way.
    hub.cut.add(`${follower.id}>${lead.id}`);
    const pending = follower.node.propose(EntryKind.Mvcc, enc('lost=1'));
    pending.catch(() => undefined);
    hub.down.add(lead.id);
    await lead.node.stop();
    const err = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    // TIMEOUT would mean it waited the whole request timeout.
    expect(isCairnError(err, ErrorCode.TIMEOUT_DUE_TO_LEADER_FAIL), String(err)).toBe(true);
    // A proposal made under the new leader is answered normally.
    const rest = running.filter((m) => m !== lead);
    await eventually(() => leaderOf(rest), 'a new leader');
    await retryRetriable(() => follower.node.propose(EntryKind.Mvcc, enc('after=1')));
    expect(follower.sm.data.get('after')).toBe('1');
  });

  test('a proposal the transport could not forward fails at once with a retriable PROPOSAL_DROPPED, and goes through once the link is back', async () => {
    const hub = new Hub();
    running = startMemCluster([1, 2, 3], hub);
    const lead = await eventually(() => leaderOf(running), 'a leader');
    const follower = running.find((m) => m !== lead)!;
    await eventually(
      () => (follower.node.status().leader === lead.id ? true : undefined),
      'the follower knowing the leader',
    );
    hub.refused.add(`${follower.id}>${lead.id}`);
    // Without the transport handing the message back, this would end with TIMEOUT after the
    // request timeout (3 s here): the leader never sees the proposal.
    const err = await follower.node.propose(EntryKind.Mvcc, enc('d=1')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCairnError(err, ErrorCode.PROPOSAL_DROPPED)).toBe(true);
    expect((err as { retriable: boolean }).retriable).toBe(true);
    expect(lead.sm.data.has('d')).toBe(false);
    hub.refused.clear();
    await retryRetriable(() => follower.node.propose(EntryKind.Mvcc, enc('d=2')));
    expect(follower.sm.data.get('d')).toBe('2');
  });

  test('a member that missed compacted entries catches up from a snapshot', async () => {
    const hub = new Hub();
    running = startMemCluster([1, 2, 3], hub, 10);
    const lead = await eventually(() => leaderOf(running), 'a leader');
    const lagging = running.find((m) => m !== lead)!;
    hub.down.add(lagging.id);
    for (let i = 0; i < 40; i++)
      await retryRetriable(() => lead.node.propose(EntryKind.Mvcc, enc(`s${i}=${i}`)));
    // Whichever member leads when the lagging one returns (leadership may move in a loaded run)
    // must have compacted past the lagging member's log, so only a snapshot can catch it up.
    const laggingLast = lagging.storage.raftStorage.lastIndex();
    await eventually(
      () =>
        running
          .filter((m) => m !== lagging)
          .every((m) => m.storage.raftStorage.firstIndex() > laggingLast + 1)
          ? true
          : undefined,
      'log compaction on both others',
    );
    hub.down.delete(lagging.id);
    // The state machine is restored before the snapshot reaches storage: wait for both.
    await eventually(
      () =>
        lagging.sm.data.get('s39') === '39' && lagging.storage.raftStorage.snapshot().metadata.index > 0
          ? true
          : undefined,
      'catch-up by an installed snapshot',
    );
  });

  test('a log of large entries is compacted by its bytes long before snapshotCount entries', async () => {
    const logBytes = 64 * 1024;
    const hub = new Hub();
    // snapshotCount alone would never compact this log: only its bytes can.
    running = startMemCluster([1, 2, 3], hub, 1_000_000, logBytes);
    const lead = await eventually(() => leaderOf(running), 'a leader');
    const filler = 'x'.repeat(8_000);
    for (let i = 0; i < 40; i++)
      await retryRetriable(() => lead.node.propose(EntryKind.Mvcc, enc(`big${i}=${i}${filler}`)));
    await eventually(
      () => (running.every((m) => m.sm.data.get('big39') === `39${filler}`) ? true : undefined),
      'every entry applied everywhere',
    );
    await eventually(
      () => (running.every((m) => m.storage.raftStorage.firstIndex() > 20) ? true : undefined),
      'compaction on every member',
    );
    for (const m of running) {
      const rs = m.storage.raftStorage;
      const held = rs.dataBytesAfter(rs.firstIndex() - 1);
      // At most half the bound kept behind the last snapshot, less than the bound appended
      // since, and one entry over: far below the 320 KB proposed.
      expect(held).toBeLessThan(logBytes / 2 + logBytes + 8_100);
      expect(rs.snapshot().metadata.index).toBeGreaterThan(0);
    }
  });

  test('a restarted member replays its log to the same state', async () => {
    const hub = new Hub();
    running = startMemCluster([1, 2, 3], hub);
    const lead = await eventually(() => leaderOf(running), 'a leader');
    for (let i = 0; i < 10; i++)
      await retryRetriable(() => lead.node.propose(EntryKind.Mvcc, enc(`r${i}=${i}`)));
    const victim = running.find((m) => m !== lead)!;
    await eventually(() => (victim.sm.data.get('r9') === '9' ? true : undefined), 'replication');
    await victim.node.stop();
    // Restart from what was persisted: a fresh state machine replays the log.
    const storage: MemNodeStorage = victim.storage;
    const sm = new TextStateMachine();
    const again = startMember<number, TextStateMachine>(hub, victim.id, storage, sm);
    running = running.map((m) => (m === victim ? again : m));
    await eventually(() => (sm.data.get('r9') === '9' ? true : undefined), 'replay');
    expect(sm.data.size).toBe(10);
  });
});

describe('a member that starts while its state machine loads', () => {
  test('completes a quorum, never leads and applies nothing until loaded; then catches up and may lead', async () => {
    const hub = new Hub();
    const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const ready = startMember<number, TextStateMachine>(
      hub,
      1,
      new MemNodeStorage(cs),
      new TextStateMachine(),
    );
    const loading = startMember<number, TextStateMachine>(
      hub,
      2,
      new MemNodeStorage(cs),
      new TextStateMachine(),
      1_000_000,
      22,
      undefined,
      false,
      0,
      true,
    );
    running = [ready, loading];
    // Member 3 is down: member 1 can lead only with the loading member's vote.
    await eventually(() => (ready.node.leader === 1 ? true : undefined), 'member 1 to lead');
    for (let i = 0; i < 5; i++)
      await retryRetriable(() => ready.node.propose(EntryKind.Mvcc, enc(`k${i}=v${i}`)));
    expect(ready.sm.data.get('k4')).toBe('v4');
    // The writes committed through member 2 (the only other voter up), which applied none.
    expect(loading.storage.raftStorage.lastIndex()).toBeGreaterThanOrEqual(ready.node.appliedIndex);
    expect(loading.sm.data.size).toBe(0);
    expect(loading.node.appliedIndex).toBe(0);
    expect(loading.node.leader).toBe(1);
    loading.node.stateMachineLoaded();
    await eventually(() => (loading.sm.data.get('k4') === 'v4' ? true : undefined), 'member 2 to catch up');
    expect([...loading.sm.data.keys()]).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    // Loaded, it may lead: member 1 stops, and member 2 takes over once member 3 comes up.
    await ready.node.stop();
    const third = startMember<number, TextStateMachine>(
      hub,
      3,
      new MemNodeStorage(cs),
      new TextStateMachine(),
      1_000_000,
      33,
    );
    running.push(third);
    await eventually(
      () => (loading.node.leader !== 0 && loading.node.leader !== 1 ? true : undefined),
      'a new leader among members 2 and 3',
    );
  });

  test('with every member loading nobody leads; the first one loaded does', async () => {
    const hub = new Hub();
    const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    running = [1, 2, 3].map((id) =>
      startMember<number, TextStateMachine>(
        hub,
        id,
        new MemNodeStorage(cs),
        new TextStateMachine(),
        1_000_000,
        id * 11,
        undefined,
        false,
        0,
        true,
      ),
    );
    // 20 election timeouts of 10 ticks of 5 ms: nobody stands.
    await new Promise((r) => setTimeout(r, 1_000));
    for (const m of running) expect(m.node.leader).toBe(0);
    running[2]!.node.stateMachineLoaded();
    await eventually(() => (running[0]!.node.leader === 3 ? true : undefined), 'member 3 to lead');
    expect(running[1]!.node.leader).toBe(3);
  });
});
