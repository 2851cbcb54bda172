/**
 * Proves etcd's Maintenance service works for etcdctl 3.4 on real three-member Cairn
 * clusters: endpoint status (real dbSize, alarms in errors), endpoint health, equal hashkv on
 * every member, alarm list/disarm, snapshot save (a file whose last 32 bytes are the SHA-256
 * of the rest), move-leader (sent to the leader it moves leadership; a follower answers
 * etcd's "not leader"), and the space quota: with a small --quota-backend-bytes writes end in
 * "database space exceeded" while reads still work, and compact + defrag + alarm disarm
 * make writes work again. Skipped, saying so, where etcdctl is absent.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { etcdServices } from '../../src/common/proto-loader.js';
import { TestCluster } from '../support/cluster.js';
import { eventually as retry } from '../support/eventually.js';

const run = promisify(execFile);
const ETCDCTL = '/usr/bin/etcdctl';
const hasEtcdctl = existsSync(ETCDCTL);
if (!hasEtcdctl)
  console.warn(
    'etcdctl maintenance tests skipped: install Debian etcd-client (apt-get install -y etcd-client)',
  );

const FAST = ['--heartbeat-interval=50', '--election-timeout=500'];

interface Result {
  stdout: string;
  stderr: string;
  code: number;
}

interface EndpointStatus {
  Endpoint: string;
  Status: {
    header: { member_id: number; revision: number };
    leader: number;
    dbSize: number;
    errors?: string[];
  };
}

function endpointsOf(c: TestCluster, names?: readonly string[]): string {
  const ms = names ? names.map((n) => c.member(n)) : c.topology.members;
  return ms.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
}

async function etcdctl(c: TestCluster, args: string[], names?: readonly string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(
      ETCDCTL,
      [`--endpoints=${endpointsOf(c, names)}`, '--command-timeout=10s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, maxBuffer: 16 * 1024 * 1024 },
    );
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

async function statuses(c: TestCluster, names?: readonly string[]): Promise<EndpointStatus[]> {
  const r = await etcdctl(c, ['endpoint', 'status', '-w', 'json'], names);
  if (r.code !== 0) throw new Error(`endpoint status failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as EndpointStatus[];
}

/** Waits for a ready cluster: one leader that every member knows, and a committed write. */
async function ready(c: TestCluster): Promise<void> {
  await retry(async () => {
    const put = await etcdctl(c, ['put', 'ready', '1']);
    if (put.code !== 0) throw new Error(put.stderr);
    const st = await statuses(c);
    if (new Set(st.map((s) => s.Status.leader)).size !== 1 || st[0]!.Status.leader === 0)
      throw new Error('members disagree on the leader');
  }, 30_000);
}

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** Calls a Maintenance method on one member directly (what etcdctl cannot send). */
async function maintenanceCall(
  c: TestCluster,
  name: string,
  method: string,
  req: unknown,
): Promise<{ ok: true; res: unknown } | { ok: false; code: number; details: string }> {
  const Maintenance = etcdServices().Maintenance;
  const client = new Maintenance(`127.0.0.1:${c.member(name).clientPort}`, grpc.credentials.createInsecure());
  try {
    const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
    return await new Promise((resolve) =>
      fn(req, (err, res) =>
        resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, res }),
      ),
    );
  } finally {
    client.close();
  }
}

describe.skipIf(!hasEtcdctl)('etcdctl maintenance against a Cairn cluster', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start(FAST);
    await ready(cluster);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  test('endpoint status reports every member with a real dbSize, and endpoint health is healthy', async () => {
    const st = await statuses(cluster);
    expect(st).toHaveLength(3);
    for (const s of st) {
      expect(s.Status.dbSize).toBeGreaterThan(0);
      expect(s.Status.errors ?? []).toEqual([]);
    }
    const health = await etcdctl(cluster, ['endpoint', 'health']);
    expect(health).toMatchObject({ code: 0 });
    const lines = `${health.stdout}${health.stderr}`.split('\n').filter((l) => l.includes('healthy'));
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toContain('is healthy');
  });

  test('endpoint hashkv is the same on every member after writes', async () => {
    const client = cluster.client();
    try {
      for (let i = 0; i < 20; i++) await client.put(`hash/${i}`).value(`v${i}`).exec();
    } finally {
      client.close();
    }
    await etcdctl(cluster, ['del', 'hash/3']);
    const rev = (await statuses(cluster))[0]!.Status.header.revision;
    // Followers apply a moment after the leader: ask every member for the same revision until all have it.
    const hashes = await retry(async () => {
      const r = await etcdctl(cluster, ['endpoint', 'hashkv', `--rev=${rev}`, '-w', 'json']);
      if (r.code !== 0) throw new Error(r.stderr);
      return (JSON.parse(r.stdout) as { HashKV: { hash: number } }[]).map((h) => h.HashKV.hash);
    });
    expect(hashes).toHaveLength(3);
    expect(new Set(hashes).size).toBe(1);
    // The Hash of the whole state machine agrees too, once every member has applied the same entries.
    const whole = await retry(async () => {
      const hs = await Promise.all(
        cluster.topology.members.map((m) => maintenanceCall(cluster, m.name, 'Hash', {})),
      );
      const values = hs.map((h) => (h.ok ? (h.res as { hash: number }).hash : -1));
      if (new Set(values).size !== 1) throw new Error(`hashes differ: ${values}`);
      return values[0];
    });
    expect(whole).toBeGreaterThan(0);
  });

  test('alarm list and disarm: a NOSPACE alarm refuses writes, keeps reads, shows in status, and disarm clears it', async () => {
    expect((await etcdctl(cluster, ['alarm', 'list'])).stdout.trim()).toBe('');
    expect((await etcdctl(cluster, ['put', 'alarm/kept', 'v1'])).code).toBe(0);
    const target = (await statuses(cluster, ['n2']))[0]!.Status.header.member_id;
    const raised = await maintenanceCall(cluster, 'n1', 'Alarm', { action: 1, memberID: target, alarm: 1 });
    expect(raised.ok).toBe(true);
    const list = await etcdctl(cluster, ['alarm', 'list']);
    expect(list.stdout.trim()).toBe(`memberID:${target} alarm:NOSPACE`);
    const refused = await etcdctl(cluster, ['put', 'blocked', 'x']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('etcdserver: mvcc: database space exceeded');
    expect((await etcdctl(cluster, ['get', 'alarm/kept', '--print-value-only'])).stdout.trim()).toBe('v1');
    expect((await etcdctl(cluster, ['del', 'alarm/kept'])).stdout.trim()).toBe('1');
    const st = await retry(async () => {
      const s = await statuses(cluster);
      if (!s.every((x) => (x.Status.errors ?? []).length === 1))
        throw new Error('alarm not applied everywhere');
      return s;
    });
    for (const s of st) expect(s.Status.errors![0]).toContain(`memberID:${target} alarm:NOSPACE`);

    const disarm = await etcdctl(cluster, ['alarm', 'disarm']);
    expect(disarm.stdout.trim()).toBe(`memberID:${target} alarm:NOSPACE`);
    expect((await etcdctl(cluster, ['alarm', 'list'])).stdout.trim()).toBe('');
    expect((await etcdctl(cluster, ['put', 'blocked', 'x'])).stdout.trim()).toBe('OK');
  });

  test('snapshot save writes a file whose trailing 32 bytes are the SHA-256 of the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-snap-'));
    try {
      const file = join(dir, 'backup.db');
      const r = await etcdctl(cluster, ['snapshot', 'save', file], ['n1']);
      expect(r).toMatchObject({ code: 0 });
      expect(`${r.stdout}${r.stderr}`).toContain(`Snapshot saved at ${file}`);
      const bytes = readFileSync(file);
      expect(bytes.byteLength).toBeGreaterThan(32);
      const body = bytes.subarray(0, bytes.byteLength - 32);
      const digest = createHash('sha256').update(body).digest();
      expect(Buffer.compare(digest, bytes.subarray(bytes.byteLength - 32))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('move-leader sent to the leader moves leadership; a follower answers "not leader"', async () => {
    const st = await statuses(cluster);
    const leaderId = st[0]!.Status.leader;
    const byId = new Map(
      cluster.topology.members.map((m) => [
        st.find((s) => s.Endpoint.endsWith(`:${m.clientPort}`))!.Status.header.member_id,
        m.name,
      ]),
    );
    const leaderName = byId.get(leaderId)!;
    const [targetId, targetName] = [...byId].find(([id]) => id !== leaderId)!;

    // A follower refuses, with etcd's status and text.
    const viaFollower = await maintenanceCall(cluster, targetName, 'MoveLeader', { targetID: targetId });
    expect(viaFollower).toEqual({
      ok: false,
      code: grpc.status.FAILED_PRECONDITION,
      details: 'etcdserver: not leader',
    });
    // etcdctl itself looks for the leader among the endpoints it is given.
    const onlyFollower = await etcdctl(cluster, ['move-leader', targetId.toString(16)], [targetName]);
    expect(onlyFollower.code).not.toBe(0);
    expect(onlyFollower.stderr).toContain('no leader endpoint given');
    // A target that is not a member is refused by the leader.
    const bad = await maintenanceCall(cluster, leaderName, 'MoveLeader', { targetID: 12345 });
    expect(bad).toEqual({
      ok: false,
      code: grpc.status.FAILED_PRECONDITION,
      details: 'etcdserver: bad leader transferee',
    });

    const moved = await etcdctl(cluster, ['move-leader', targetId.toString(16)], [leaderName]);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(
      `Leadership transferred from ${leaderId.toString(16)} to ${targetId.toString(16)}`,
    );
    const targetStatus = (await statuses(cluster, [targetName]))[0]!.Status;
    expect(targetStatus.leader).toBe(targetId);
    expect(targetStatus.header.member_id).toBe(targetId);
  });
});

describe.skipIf(!hasEtcdctl)('the space quota on a Cairn cluster with a small --quota-backend-bytes', () => {
  let cluster: TestCluster;
  const QUOTA_BYTES = 1024 * 1024;

  beforeAll(async () => {
    cluster = await TestCluster.start([
      ...FAST,
      `--quota-backend-bytes=${QUOTA_BYTES}`,
      '--snapshot-count=20',
      '--snapshot-catchup-entries=2',
    ]);
    await ready(cluster);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  test('writes end in "database space exceeded", reads work, and compact + defrag + disarm restore writes', async () => {
    // Fill through one in-process client (cheaper than a process per write), then ask etcdctl.
    const client = cluster.client();
    let refusal: string | undefined;
    try {
      for (let i = 0; i < 200 && !refusal; i++) {
        await client
          .put('big')
          .value(randomBytes(16 * 1024).toString('hex'))
          .exec()
          .catch((e: Error) => {
            refusal = e.message;
          });
      }
    } finally {
      client.close();
    }
    expect(refusal).toContain('etcdserver: mvcc: database space exceeded');
    const refused = await etcdctl(cluster, ['put', 'big', 'x']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('etcdserver: mvcc: database space exceeded');
    expect((await etcdctl(cluster, ['get', 'big', '--keys-only'])).stdout.trim()).toBe('big');
    const alarms = await retry(async () => {
      const l = await etcdctl(cluster, ['alarm', 'list']);
      if (!l.stdout.includes('alarm:NOSPACE')) throw new Error('no alarm yet');
      return l.stdout;
    });
    // etcdctl prints each AlarmMember in protobuf's compact text form, which ends with a space.
    expect(alarms).toMatch(/^memberID:\d+ alarm:NOSPACE $/m);
    expect(
      (await statuses(cluster)).some((s) => (s.Status.errors ?? []).some((e) => e.includes('alarm:NOSPACE'))),
    ).toBe(true);

    const rev = (await statuses(cluster))[0]!.Status.header.revision;
    expect((await etcdctl(cluster, ['compact', String(rev), '--physical'])).code).toBe(0);
    const sizesBefore = (await statuses(cluster)).map((s) => s.Status.dbSize);
    // Each member applies the compaction a moment apart; defragment until all are under the quota.
    await retry(async () => {
      const defrag = await etcdctl(cluster, ['defrag']);
      if (defrag.code !== 0) throw new Error(defrag.stderr);
      expect(defrag.stdout.match(/Finished defragmenting etcd member/g)).toHaveLength(3);
      const sizes = (await statuses(cluster)).map((s) => s.Status.dbSize);
      if (!sizes.every((b) => b < QUOTA_BYTES / 2)) throw new Error(`still large: ${sizes}`);
    });
    const sizesAfter = (await statuses(cluster)).map((s) => s.Status.dbSize);
    for (let i = 0; i < 3; i++) expect(sizesAfter[i]!).toBeLessThan(sizesBefore[i]!);

    expect((await etcdctl(cluster, ['alarm', 'disarm'])).code).toBe(0);
    expect((await etcdctl(cluster, ['alarm', 'list'])).stdout.trim()).toBe('');
    expect((await etcdctl(cluster, ['put', 'after', 'ok'])).stdout.trim()).toBe('OK');
    expect((await etcdctl(cluster, ['get', 'after', '--print-value-only'])).stdout.trim()).toBe('ok');
  });
});
