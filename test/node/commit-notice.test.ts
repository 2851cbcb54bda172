/**
 * Proves that followers learn the commit of a lone write from the leader's appends alone, also
 * when the leader's own disk is the last of the quorum to sync and a follower acknowledges
 * after that: with heartbeats dropped, the leader's disk and one follower's disk held back by
 * gates the test opens in turn, every member applies the write. The leader holds back commit
 * indexes beyond its synced log, and a heartbeat may carry no more than the follower had
 * acknowledged, so without the append sent after the leader's write the slower follower (and
 * here every follower) would wait for the next heartbeat.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { EntryKind } from '../../src/node/envelope.js';
import type { PersistBatch } from '../../src/node/ports.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { MessageType, type NodeId } from '../../src/raft/index.js';
import { testPrng } from '../raft/harness.js';
import { eventually, Hub, MemNodeStorage, TextStateMachine } from './support.js';

/**
 * A storage whose writes of new entries complete only once the gate (when set) opens. Writes
 * complete in the order they were issued, as LevelStorage's do.
 */
class GatedStorage extends MemNodeStorage {
  gate: Promise<void> | undefined;
  private last: Promise<void> = Promise.resolve();
  override persist(b: PersistBatch): Promise<void> {
    const written = super.persist(b); // the log in memory is updated before this returns
    const gate = b.entries.length > 0 ? this.gate : undefined;
    const before = this.last;
    this.last = Promise.all([before, written, gate]).then(() => {});
    return this.last;
  }
}

/** A gate and the function that opens it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  openAll.push(open);
  return { promise, open };
}

const IDS: NodeId[] = [1, 2, 3];
let nodes: RaftNode<number>[] = [];
/** Opens every gate, so that stopping does not wait on a write a failed test left held. */
let openAll: (() => void)[] = [];

afterEach(async () => {
  for (const open of openAll) open();
  openAll = [];
  await Promise.all(nodes.map((n) => n.stop()));
  nodes = [];
});

describe('commit notices', () => {
  test('a follower acknowledging after the leader synced learns the commit without a heartbeat', async () => {
    const hub = new Hub();
    const cs = { voters: IDS, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const members = IDS.map((id) => {
      const storage = new GatedStorage(cs);
      const sm = new TextStateMachine();
      const node = new RaftNode<number>({
        id,
        storage,
        stateMachine: sm,
        transport: hub.transportFor(id),
        logger: silentLogger(),
        prng: testPrng(id * 7919),
        tickIntervalMs: 5,
        // Long enough that nobody campaigns, or steps down for want of answers, while
        // heartbeats are dropped below.
        electionTimeoutTicks: 400,
        heartbeatIntervalTicks: 1,
        requestTimeoutMs: 10_000,
        pendingProposalsMax: 100,
        pendingReadsMax: 100,
        snapshotCount: 1_000_000,
        snapshotCatchUpEntries: 5,
        leaseReads: false,
      });
      hub.attach(id, node);
      node.start();
      nodes.push(node);
      return { id, node, storage, sm };
    });
    const leader = await eventually(
      () => members.find((m) => m.node.status().role === 'leader'),
      'a leader',
      20_000,
    );
    const [fast, slow] = members.filter((m) => m !== leader);
    // Every member has applied everything the leader has, so only the write below is pending.
    const first = await eventually(() => {
      const st = leader.node.status();
      return st.commit === st.lastIndex && members.every((m) => m.sm.appliedIndex >= st.commit)
        ? st.commit
        : undefined;
    }, "the leader's first entries applied everywhere");

    hub.setDropFilter((m) => m.type === MessageType.Heartbeat || m.type === MessageType.HeartbeatResp);
    const leaderDisk = gate();
    const slowDisk = gate();
    leader.storage.gate = leaderDisk.promise;
    slow!.storage.gate = slowDisk.promise;

    const written = leader.node.propose(EntryKind.Mvcc, new TextEncoder().encode('k=v'));
    written.catch(() => {}); // awaited below; a failed test must not also leave it unhandled
    const index = leader.node.status().lastIndex;
    expect(index).toBe(first + 1);
    await eventually(
      () => ((leader.node.status().progress?.get(fast!.id)?.match ?? 0) >= index ? true : undefined),
      'the fast follower acknowledging',
    );
    // Committed (the leader counts its own entry), though the leader's disk has not synced it.
    expect(leader.node.status().commit).toBe(index);
    expect(fast!.sm.data.get('k')).toBeUndefined();

    leaderDisk.open();
    expect(await written).toBe(index);
    await eventually(() => fast!.sm.data.get('k'), 'the fast follower applying the write');
    slowDisk.open();
    await eventually(() => slow!.sm.data.get('k'), 'the slow follower applying the write');
    expect(members.map((m) => m.sm.appliedIndex)).toEqual([index, index, index]);
  });
});
