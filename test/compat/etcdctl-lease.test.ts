/**
 * Proves etcd's lease behaviour on a real three-member Cairn cluster, through etcdctl 3.4
 * and the etcd3 package: grant (TTL raised to the minimum), put --lease, timetolive with
 * keys, list, keep-alive (also sent to a follower, which forwards it to the leader), revoke;
 * a lease nobody keeps alive expires within its TTL plus one election timeout (plus the
 * leader's check interval and a commit) and its keys vanish together in one revision; and a
 * lease kept alive survives the SIGKILL of the leader. Skipped, saying so, without etcdctl.
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster } from '../support/cluster.js';
import { etcdctl, eventually, hasEtcdctl } from '../support/etcdctl.js';

const ELECTION_TIMEOUT_MS = 500;
let cluster: TestCluster;
let client: Etcd3;

const ctl = (args: string[], names?: string[]) => etcdctl(cluster.endpoints(names), args);

async function grant(ttl: number): Promise<string> {
  // Retried only while etcdctl fails (an election in a loaded run); the output is then checked.
  const r = await eventually(async () => {
    const out = await ctl(['lease', 'grant', String(ttl)]);
    if (out.code !== 0) throw new Error(out.stderr);
    return out;
  });
  const m = /^lease ([0-9a-f]+) granted with TTL\((\d+)s\)/.exec(r.stdout.trim());
  expect(m, r.stdout).not.toBeNull();
  return m![1]!;
}

async function currentRevision(): Promise<number> {
  const r = await ctl(['get', 'no-such-key-for-revision', '-w', 'json']);
  return Number(JSON.parse(r.stdout).header.revision);
}

describe.skipIf(!hasEtcdctl)('leases against a Cairn cluster', () => {
  beforeAll(async () => {
    cluster = await TestCluster.start([
      '--heartbeat-interval=50',
      `--election-timeout=${ELECTION_TIMEOUT_MS}`,
    ]);
    await cluster.leaderName();
    client = cluster.client();
    await eventually(() => client.put('ready').value('1').exec());
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  test('grant raises the TTL to ceil(1.5 x election timeout); put --lease, timetolive --keys, list, revoke', async () => {
    const r = await eventually(async () => {
      const out = await ctl(['lease', 'grant', '0']);
      if (out.code !== 0) throw new Error(out.stderr);
      return out;
    });
    // 1.5 x 500 ms rounds up to 1 s.
    expect(r.stdout).toMatch(/granted with TTL\(1s\)/);
    const id = await grant(60);
    for (const [key, value] of [
      ['lk/a', '1'],
      ['lk/b', '2'],
    ] as const) {
      // Repeating the same put is harmless; a leader change in a loaded run fails one attempt.
      await eventually(async () => {
        const put = await ctl(['put', '--lease', id, key, value]);
        if (put.code !== 0) throw new Error(`put --lease ${id} ${key}: ${put.stderr}`);
      });
    }
    const ttl = await ctl(['lease', 'timetolive', '--keys', id]);
    expect(ttl.stdout).toMatch(
      new RegExp(
        `lease ${id} granted with TTL\\(60s\\), remaining\\((5\\d|60)s\\), attached keys\\(\\[lk/a lk/b\\]\\)`,
      ),
    );
    const list = await ctl(['lease', 'list']);
    expect(list.stdout).toContain(id);
    const ka = await ctl(['lease', 'keep-alive', '--once', id]);
    expect(ka.stdout).toMatch(new RegExp(`lease ${id} keepalived with TTL\\(60\\)`));

    const before = await currentRevision();
    const rev = await ctl(['lease', 'revoke', id]);
    expect(rev.stdout).toContain(`lease ${id} revoked`);
    expect(await currentRevision()).toBe(before + 1);
    expect((await ctl(['get', '--prefix', 'lk/'])).stdout).toBe('');
    const gone = await ctl(['lease', 'timetolive', id]);
    expect(gone.stdout).toMatch(/already expired/);
    const again = await ctl(['lease', 'revoke', id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('etcdserver: requested lease not found');
    const badPut = await ctl(['put', '--lease', id, 'lk/c', '3']);
    expect(badPut.stderr).toContain('etcdserver: requested lease not found');
  });

  test('a keep-alive sent to a follower reaches the leader and resets the remaining time', async () => {
    const leader = await cluster.leaderName();
    const follower = cluster.topology.members.find((m) => m.name !== leader)!.name;
    const id = await grant(30);
    // Let some time pass so a reset is visible in whole seconds.
    await new Promise((r) => setTimeout(r, 2200));
    const before = await ctl(['lease', 'timetolive', id], [leader]);
    const remainingBefore = Number(/remaining\((\d+)s\)/.exec(before.stdout)![1]);
    expect(remainingBefore).toBeLessThanOrEqual(28);
    const ka = await ctl(['lease', 'keep-alive', '--once', id], [follower]);
    expect(ka.stdout, ka.stderr).toMatch(/keepalived with TTL\(30\)/);
    const after = await ctl(['lease', 'timetolive', id], [follower]);
    const remainingAfter = Number(/remaining\((\d+)s\)/.exec(after.stdout)![1]);
    expect(remainingAfter).toBeGreaterThan(remainingBefore);
  });

  test('an unkept lease expires within TTL + election timeout (+ check and commit slack); its keys go in one revision', async () => {
    const ttlSeconds = 3;
    const id = await grant(ttlSeconds);
    const grantedAt = Date.now();
    const leaseId = BigInt(`0x${id}`).toString();
    for (const k of ['exp/a', 'exp/b', 'exp/c']) await client.put(k).value('1').lease(leaseId).exec();
    const revisionWithKeys = await currentRevision();
    // Still there before its TTL ran out.
    const sinceGrantMs = Date.now() - grantedAt;
    if (sinceGrantMs < ttlSeconds * 1000 - 500) {
      expect(await client.getAll().prefix('exp/').keys()).toHaveLength(3);
    }
    await eventually(
      async () => {
        const r = await ctl(['get', '--prefix', 'exp/', '--keys-only']);
        if (r.stdout.trim() !== '') throw new Error('keys still there');
      },
      15_000,
      50,
    );
    const goneAfterMs = Date.now() - grantedAt;
    // The bound the issue states, plus the leader's 250 ms check interval and a second of commit and polling slack.
    expect(goneAfterMs).toBeLessThan(ttlSeconds * 1000 + ELECTION_TIMEOUT_MS + 250 + 1000);
    // All three keys were deleted in one revision: one write after the last put (no other writes ran meanwhile).
    const atDelete = await ctl(['get', '--prefix', 'exp/', `--rev=${revisionWithKeys + 1}`, '--keys-only']);
    expect(atDelete.stdout.trim()).toBe('');
    const justBefore = await ctl(['get', '--prefix', 'exp/', `--rev=${revisionWithKeys}`, '--keys-only']);
    expect(justBefore.stdout.trim().split('\n').filter(Boolean)).toEqual(['exp/a', 'exp/b', 'exp/c']);
  });

  test('a lease kept alive by the etcd3 client survives the SIGKILL of the leader', async () => {
    const lease = client.lease(3);
    const lost: unknown[] = [];
    lease.on('lost', (e) => lost.push(e));
    await lease.put('survivor').value('alive').exec();
    const idHex = BigInt(await lease.grant()).toString(16);
    const victim = await cluster.leaderName();
    await cluster.kill(victim);
    // Well past the TTL: only a lease that the new leader extended and the client kept alive is still there.
    await new Promise((r) => setTimeout(r, 5000));
    const survivors = cluster.topology.members.filter((m) => m.name !== victim).map((m) => m.name);
    const ttl = await eventually(async () => {
      const r = await ctl(['lease', 'timetolive', idHex], survivors);
      if (r.code !== 0) throw new Error(r.stderr);
      return r.stdout;
    });
    expect(ttl).toMatch(/remaining\(\d+s\)/);
    const got = await ctl(['get', 'survivor', '--print-value-only'], survivors);
    expect(got.stdout.trim()).toBe('alive');
    expect(lost).toEqual([]);
    await lease.revoke();
    cluster.startMember(cluster.member(victim));
  }, 60_000);
});
