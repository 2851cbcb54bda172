/**
 * Proves durability end to end inside one process: three members on LevelDB with the mvcc
 * state machine acknowledge writes, are all stopped, and are started again from their data
 * folders alone; every acknowledged write is still there on every member, with the same
 * revision, also when snapshots compacted the logs, and the cluster takes new writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { encodeCommand } from '../../src/mvcc/index.js';
import { EntryKind } from '../../src/node/envelope.js';
import {
  type KvResult,
  type KvStateMachine,
  kvWritesToOps,
  recoverKvStateMachine,
} from '../../src/node/kv-state-machine.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import { testPrng } from '../raft/harness.js';
import { eventually, Hub, retryRetriable } from './support.js';

interface Member {
  id: number;
  node: RaftNode<KvResult>;
  storage: LevelStorage;
  sm: KvStateMachine;
}

const IDS = [1, 2, 3];
const CS = { voters: IDS, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const enc = (s: string) => new TextEncoder().encode(s);
let root = '';
let members: Member[] = [];

async function startAll(hub: Hub, snapshotCount: number): Promise<Member[]> {
  return Promise.all(
    IDS.map(async (id) => {
      const { storage, recovered } = await LevelStorage.open(join(root, `n${id}`), {
        logger: silentLogger(),
        toOps: kvWritesToOps,
        initialConfState: CS,
      });
      const sm = await recoverKvStateMachine(recovered);
      const node = new RaftNode<KvResult>({
        id,
        storage,
        stateMachine: sm,
        transport: hub.transportFor(id),
        logger: silentLogger(),
        prng: testPrng(id * 31 + Date.now()),
        tickIntervalMs: 5,
        electionTimeoutTicks: 10,
        heartbeatIntervalTicks: 1,
        requestTimeoutMs: 5000,
        pendingProposalsMax: 10_000,
        pendingReadsMax: 10_000,
        snapshotCount,
        snapshotCatchUpEntries: 5,
        leaseReads: false,
      });
      hub.attach(id, node);
      node.start();
      return { id, node, storage, sm };
    }),
  );
}

async function stopAll(): Promise<void> {
  for (const m of members) {
    await m.node.stop();
    await m.storage.close();
  }
  members = [];
}

afterEach(async () => {
  await stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a cluster on LevelDB', () => {
  test.each([
    ['without snapshots', 1_000_000],
    ['with snapshots and compaction', 10],
  ])(
    'keeps every acknowledged write across a full restart (%s)',
    async (_label, snapshotCount) => {
      root = mkdtempSync(join(tmpdir(), 'cairn-durable-'));
      members = await startAll(new Hub(), snapshotCount);
      const lead = await eventually(() => members.find((m) => m.node.status().role === 'leader'), 'a leader');
      for (let i = 0; i < 40; i++) {
        const r = await retryRetriable(() =>
          lead.node.propose(
            EntryKind.Mvcc,
            encodeCommand({ type: 'put', request: { key: enc(`acct/${i}`), value: enc(`${i}`) } }),
          ),
        );
        expect(r.ok).toBe(true);
      }
      const revision = lead.sm.store.currentRevision;
      expect(revision).toBe(41);
      await stopAll();

      members = await startAll(new Hub(), snapshotCount);
      const again = await eventually(
        () => members.find((m) => m.node.status().role === 'leader'),
        'a leader after restart',
      );
      for (const m of members) {
        // A member that does not know the new leader yet answers NO_LEADER (retriable), as etcd does.
        await retryRetriable(() => m.node.linearizableBarrier());
        expect(m.sm.store.currentRevision).toBe(revision);
        const all = m.sm.store.range({ key: enc('acct/'), rangeEnd: enc('acct0') });
        expect(all.count).toBe(40);
      }
      const after = await retryRetriable(() =>
        again.node.propose(
          EntryKind.Mvcc,
          encodeCommand({ type: 'put', request: { key: enc('after'), value: enc('x') } }),
        ),
      );
      expect(after.ok && after.response.header.revision).toBe(revision + 1);
    },
    30_000,
  );
});
