/**
 * Proves a member that was down while the others compacted their logs catches up by
 * snapshot: with small snapshot settings, a follower is killed, the cluster takes many
 * writes and compacts, the follower restarts and serves every write; its data folder then
 * holds a snapshot from beyond the point where it died.
 */
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import { TestCluster } from '../support/cluster.js';
import { eventually as retry } from '../support/eventually.js';

let cluster: TestCluster;
const clients: Etcd3[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start([
    '--heartbeat-interval=50',
    '--election-timeout=500',
    '--snapshot-count=64',
    '--snapshot-catchup-entries=8',
  ]);
  const c = cluster.client();
  clients.push(c);
  await retry(() => c.put('ready').value('1').exec());
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
}, 60_000);

test('a follower far behind catches up by snapshot', async () => {
  const statuses = await Promise.all(
    cluster.topology.members.map(async (m) => {
      const c = cluster.client([m.name]);
      clients.push(c);
      return { name: m.name, s: await c.maintenance.status() };
    }),
  );
  const follower = statuses.find((x) => String(x.s.leader) !== String(x.s.header.member_id))!.name;
  await cluster.kill(follower, 'SIGKILL');
  const others = cluster.topology.members.filter((m) => m.name !== follower).map((m) => m.name);
  const writer = cluster.client(others);
  clients.push(writer);
  for (let i = 0; i < 300; i++) await retry(() => writer.put(`far/${i}`).value(`${i}`).exec());

  cluster.startMember(cluster.member(follower));
  const rejoined = cluster.client([follower]);
  clients.push(rejoined);
  await retry(async () => {
    const v = await rejoined.get('far/299').serializable(true).string();
    if (v !== '299') throw new Error('not caught up yet');
  }, 30_000);
  expect(Number(await rejoined.getAll().prefix('far/').serializable(true).count())).toBe(300);

  await cluster.kill(follower, 'SIGTERM');
  const { storage } = await LevelStorage.open(join(cluster.member(follower).dataDir, 'data'), {
    logger: silentLogger(),
    toOps: () => ({ clearFirst: false, puts: [], dels: [] }),
  });
  try {
    // The survivors kept only 8 entries behind each snapshot (every 64 writes), so the entries
    // the follower missed were gone from their logs: it can only have caught up by installing
    // a snapshot, which its data folder now holds.
    expect(storage.raftStorage.snapshot().metadata.index).toBeGreaterThan(200);
  } finally {
    await storage.close();
  }
}, 120_000);
