/**
 * Proves snapshots: after the leader compacts its log, a follower that needs compacted
 * entries receives the snapshot, installs it, and catches up with the entries after it;
 * a snapshot that the follower already covers is not installed twice; and a follower
 * that failed to receive one is probed again.
 */
import { describe, expect, test } from 'vitest';
import { MessageType } from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

/** Snapshots and compacts a member's log at its applied index. */
function compact(c: TestCluster, id: number): number {
  const m = c.get(id);
  const applied = m.node.status().applied;
  const payload = data(JSON.stringify(c.appliedData(id)));
  m.storage.createSnapshot(applied, m.confState, payload);
  m.storage.compact(applied);
  return applied;
}

describe('snapshots', () => {
  test('a follower far behind gets a snapshot and the entries after it', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.get(1).node.propose(data(`a${i}`));
    c.stabilize();
    const snapIndex = compact(c, 1);
    for (let i = 0; i < 3; i++) c.get(1).node.propose(data(`b${i}`));
    c.stabilize();
    c.heal();
    c.sent = [];
    c.tick(3);
    const snaps = c.sentOf(MessageType.Snap);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.to).toBe(3);
    expect(snaps[0]!.snapshot?.metadata.index).toBe(snapIndex);
    const s3 = c.get(3);
    expect(s3.storage.snapshot().metadata.index).toBe(snapIndex);
    // After the snapshot, node 3 applied only the entries that followed it.
    expect(c.appliedData(3)).toEqual(['b0', 'b1', 'b2']);
    expect(JSON.parse(new TextDecoder().decode(s3.storage.snapshot().data))).toHaveLength(20);
    expect(s3.node.status().commit).toBe(c.get(1).node.status().commit);
    expect(c.get(1).node.status().progress?.get(3)?.state).toBe('replicate');
  });

  test('a failed snapshot send returns the follower to probing and is retried', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.get(1).node.propose(data(`a${i}`));
    c.stabilize();
    compact(c, 1);
    c.heal();
    c.filters.push((m) => m.type !== MessageType.Snap);
    c.tick(3);
    expect(c.get(1).node.status().progress?.get(3)?.state).toBe('snapshot');
    c.get(1).node.reportSnapshot(3, false);
    expect(c.get(1).node.status().progress?.get(3)?.state).toBe('probe');
    c.heal();
    c.tick(3);
    expect(c.get(3).node.status().commit).toBe(c.get(1).node.status().commit);
  });
});
