/**
 * Proves `cairnctl snapshot restore` seeds a NEW cluster from a saved snapshot as etcdutl's
 * restore does: a real three-member cluster gets keys over several revisions (overwrites, a
 * delete), a lease with a key, a lock through Cairn's LockService, a service registration, a
 * decided coordinator transaction and a NOSPACE alarm; `cairnctl snapshot save` writes the
 * file; cairnctl restores it into three new data folders for a cluster on other ports with
 * another token, which then starts through cluster/ like any other. The new cluster serves
 * the same keys with the same values, create/mod revisions, versions and leases, the same
 * current revision and the same HashKV at it; its member list is the new members only (ids
 * and cluster id as bootstrap derives them); the alarm is gone and writes work. Damaged files
 * and a used data folder are refused with their exit codes before anything is written.
 */
import { randomUUID } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalTopology, memberDataDir } from '../../cluster/topology.js';
import { Client } from '../../src/client/client.js';
import { clusterIdOf, memberIdOf } from '../../src/common/ids.js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { cairnctl } from '../cli/run-cli.js';
import { TestCluster } from '../support/cluster.js';
import { unary, unaryRetrying, type Wire } from '../support/etcd-grpc.js';
import { eventually } from '../support/eventually.js';

const FLAGS = ['--heartbeat-interval=50', '--election-timeout=500'];
const NEW_TOKEN = 'cairn-restored';
/** Long enough that no lease of the old cluster expires while the test looks at the restored one. */
const TTL_SECONDS = 600;

/** Raw clients of one member's etcd services. */
function services(endpoint: string) {
  const s = etcdServices();
  const creds = grpc.credentials.createInsecure();
  const clients = {
    kv: new s.KV(endpoint, creds),
    lease: new s.Lease(endpoint, creds),
    cluster: new s.Cluster(endpoint, creds),
    maintenance: new s.Maintenance(endpoint, creds),
  };
  const close = () => {
    for (const c of Object.values(clients)) c.close();
  };
  return { ...clients, close };
}
type Services = ReturnType<typeof services>;

/** Every key (with its revisions, version, lease) at a revision (0: the current one), and that revision. */
async function allKeys(s: Services, revision = 0): Promise<{ revision: number; kvs: Wire[] }> {
  const r = await unaryRetrying(s.kv, 'Range', {
    key: Buffer.from([0]),
    range_end: Buffer.from([0]),
    revision,
    serializable: false,
  });
  const kvs = (r.kvs as Wire[]).map((kv) => ({
    key: kv.key.toString('utf8'),
    value: kv.value.toString('base64'),
    create_revision: kv.create_revision,
    mod_revision: kv.mod_revision,
    version: kv.version,
    lease: kv.lease,
  }));
  return { revision: r.header.revision, kvs };
}

let old: TestCluster;
let restored: TestCluster | undefined;
let oldClient: Client;
let oldSvc: Services;
let newSvc: Services | undefined;
let work: string;
let snapshotFile: string;
let saved: { revision: number };
let before: { revision: number; kvs: Wire[] };
let hashBefore: number;
let oldMemberIds: number[];
let oldClusterId: number;
let leaseId: number;
let lockKey: string;
const txnId = `restore-txn-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cairn-restore-'));
  snapshotFile = join(work, 'backup.snap');
  old = await TestCluster.start(FLAGS);
  await old.leaderName();
  // Every member must reach the leader before the test's writes: a member that came up after
  // its peers may still be backing off its stream to the leader, and a write it forwards then
  // is lost and times out (the SDK does not send a write of unknown outcome again).
  for (const endpoint of old.endpoints()) {
    const member = services(endpoint);
    try {
      await unaryRetrying(
        member.kv,
        'Put',
        { key: Buffer.from('ready'), value: Buffer.from(endpoint) },
        60_000,
      );
    } finally {
      member.close();
    }
  }
  oldClient = new Client({ endpoints: old.endpoints() });
  oldSvc = services(old.endpoints()[0]!);
}, 120_000);

afterAll(async () => {
  oldSvc?.close();
  newSvc?.close();
  await oldClient?.close().catch(() => undefined);
  await restored?.stop();
  await old?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('snapshot restore', { timeout: 180_000 }, () => {
  it('seeds a new cluster with the same data, revisions and leases, and a new membership', async () => {
    // Data: overwrites (versions), a delete, a lease with a key, Cairn's own records.
    const kv = oldClient.kv;
    for (const v of ['1', '2', '3']) await kv.put('acct/a', v);
    await kv.put('acct/b', 'gone soon');
    await kv.delete('acct/b');
    await kv.put('acct/c', 'c');
    const lease = await oldClient.lease(TTL_SECONDS, { keepAlive: false });
    leaseId = lease.id;
    await kv.put('acct/leased', 'held', { lease: lease.id });
    const lock = await oldClient.lock('restore/lock', { ttlSeconds: TTL_SECONDS, owner: 'restore-test' });
    lockKey = lock.key.toString('utf8');
    await oldClient.registry.register(
      { service: 'restore-svc', id: 'i-1', address: '10.1.2.3:443', zone: 'z1' },
      { ttlSeconds: TTL_SECONDS },
    );
    await oldClient.coordinator.begin(txnId, ['p1', 'p2'], { timeoutMs: 600_000, metadata: { amount: '7' } });
    await oldClient.coordinator.vote(txnId, 'p1', 'YES');
    await oldClient.coordinator.vote(txnId, 'p2', 'YES');

    const oldMembers = await unaryRetrying(oldSvc.cluster, 'MemberList', {});
    oldMemberIds = (oldMembers.members as Wire[]).map((m) => Number(m.ID));
    oldClusterId = Number(oldMembers.header.cluster_id);
    // An alarm of an old member: the restore drops it (it names a member the new cluster does not have).
    await unaryRetrying(oldSvc.maintenance, 'Alarm', { action: 1, memberID: oldMemberIds[0], alarm: 1 });

    const save = await cairnctl([
      '--endpoints',
      old.endpoints()[0]!,
      'snapshot',
      'save',
      snapshotFile,
      '-o',
      'json',
    ]);
    expect(save.code, save.stderr).toBe(0);
    saved = JSON.parse(save.stdout) as { revision: number };
    before = await allKeys(oldSvc, saved.revision);
    expect(before.revision).toBeGreaterThanOrEqual(saved.revision);
    hashBefore = (await unaryRetrying(oldSvc.maintenance, 'HashKV', { revision: saved.revision })).hash;
    expect(before.kvs.map((k) => k.key)).toEqual(
      expect.arrayContaining(['acct/a', 'acct/c', 'acct/leased', lockKey]),
    );
    expect(before.kvs.some((k) => k.key.startsWith('/cairn/'))).toBe(true);

    // Restore: one run per member, then start them as cluster/ starts any member.
    const outputs: Wire[] = [];
    restored = await TestCluster.start(FLAGS, {
      token: NEW_TOKEN,
      seed: async (t: LocalTopology) => {
        const initialCluster = t.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
        for (const m of t.members) {
          const r = await cairnctl([
            'snapshot',
            'restore',
            snapshotFile,
            '--name',
            m.name,
            '--initial-cluster',
            initialCluster,
            '--initial-cluster-token',
            t.token,
            '--initial-advertise-peer-urls',
            m.peerUrl,
            '--data-dir',
            memberDataDir(m),
            '-o',
            'json',
          ]);
          expect(r.code, r.stderr).toBe(0);
          outputs.push(JSON.parse(r.stdout));
        }
      },
    });
    const t = restored.topology;
    const newIds = t.members.map((m) => memberIdOf([m.peerUrl], NEW_TOKEN));
    const newClusterId = clusterIdOf(newIds, NEW_TOKEN);
    expect(outputs.map((o) => o.member_id)).toEqual(newIds.map((id) => id.toString(16)));
    for (const o of outputs) {
      expect(o).toMatchObject({
        cluster_id: newClusterId.toString(16),
        revision: saved.revision,
        alarms_dropped: 1,
      });
    }
    await restored.leaderName();
    newSvc = services(restored.endpoints()[1]!);

    // Same keys, values, revisions, versions, leases; same current revision and HashKV.
    const after = await allKeys(newSvc);
    expect(after.revision).toBe(saved.revision);
    expect(after.kvs).toEqual(before.kvs);
    const hashAfter = await unaryRetrying(newSvc.maintenance, 'HashKV', { revision: saved.revision });
    expect(hashAfter.hash).toBe(hashBefore);
    const ttl = await unaryRetrying(newSvc.lease, 'LeaseTimeToLive', { ID: leaseId, keys: true });
    expect(Number(ttl.grantedTTL)).toBe(TTL_SECONDS);
    expect(Number(ttl.TTL)).toBeGreaterThan(0);
    expect((ttl.keys as Buffer[]).map((k) => k.toString('utf8'))).toContain('acct/leased');

    // Cairn's own records read back through its services.
    const newClient = new Client({ endpoints: restored.endpoints() });
    try {
      const described = await newClient.locks.describe('restore/lock');
      expect(described.holder?.key.toString('utf8')).toBe(lockKey);
      const instance = await newClient.registry.get('restore-svc', 'i-1');
      expect(instance).toMatchObject({ address: '10.1.2.3:443', zone: 'z1', state: 'SERVING' });
      const record = await cairnctl([
        '--endpoints',
        restored.endpoints()[0]!,
        'txn-records',
        'get',
        txnId,
        '-o',
        'json',
      ]);
      expect(record.code, record.stderr).toBe(0);
      expect(JSON.parse(record.stdout)).toMatchObject({
        txn_id: txnId,
        state: 'COMMIT',
        metadata: { amount: '7' },
      });
    } finally {
      await newClient.close();
    }

    // The new membership only, under the new cluster id; every member publishes its name and client URL.
    await eventually(async () => {
      const list = await unary(newSvc!.cluster, 'MemberList', { linearizable: true });
      expect(Number(list.header.cluster_id)).toBe(newClusterId);
      expect(Number(list.header.cluster_id)).not.toBe(oldClusterId);
      const members = (list.members as Wire[])
        .map((m) => ({ id: Number(m.ID), name: m.name, peer: m.peerURLs, client: m.clientURLs }))
        .sort((a, b) => a.name.localeCompare(b.name));
      expect(members).toEqual(
        t.members.map((m, i) => ({ id: newIds[i], name: m.name, peer: [m.peerUrl], client: [m.clientUrl] })),
      );
      for (const id of oldMemberIds) expect(members.map((m) => m.id)).not.toContain(id);
    }, 30_000);

    // No alarm came along, and writes work (the next revision).
    const alarms = await unaryRetrying(newSvc.maintenance, 'Alarm', { action: 0, memberID: 0, alarm: 0 });
    expect(alarms.alarms).toEqual([]);
    const put = await unaryRetrying(newSvc.kv, 'Put', {
      key: Buffer.from('acct/after'),
      value: Buffer.from('x'),
    });
    expect(put.header.revision).toBe(saved.revision + 1);
  });

  it('refuses a damaged file (exit 7) and a used data folder (exit 2), writing nothing', async () => {
    expect(existsSync(snapshotFile)).toBe(true);
    const args = (file: string, dataDir: string) => [
      'snapshot',
      'restore',
      file,
      '--name',
      'n1',
      '--initial-cluster',
      'n1=http://127.0.0.1:1,n2=http://127.0.0.1:2,n3=http://127.0.0.1:3',
      '--data-dir',
      dataDir,
    ];
    const bytes = readFileSync(snapshotFile);
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    const damaged = join(work, 'flipped.snap');
    writeFileSync(damaged, flipped);
    const truncated = join(work, 'truncated.snap');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    for (const file of [damaged, truncated]) {
      const dataDir = join(work, `out-${randomUUID().slice(0, 6)}`);
      const r = await cairnctl(args(file, dataDir));
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toMatch(/SHA-256|damaged|truncated/);
      expect(existsSync(dataDir)).toBe(false);
    }

    const used = join(work, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'something'), 'x');
    const r = await cairnctl(args(snapshotFile, used));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exists and is not empty/);

    const copy = join(work, 'copy.snap');
    copyFileSync(snapshotFile, copy);
    const wrongName = await cairnctl([...args(copy, join(work, 'x')), '--name', 'n9']);
    expect(wrongName.code).toBe(2);
    expect(wrongName.stderr).toMatch(/does not contain this member's name "n9"/);
  });
});
