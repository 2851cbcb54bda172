/**
 * Proves a Cairn cluster serves clients and peers over TLS with etcd's flags: three real
 * members with https client and peer URLs and client-cert-auth on both (certificates made by
 * cluster/certs.ts, as `npm run start:tls` makes them) elect a leader over TLS; etcdctl 3.4
 * with --cacert/--cert/--key puts, gets, reads endpoint status and lists https members;
 * leases (keep-alives through every member), watch --rev, lock, elect, endpoint health, snapshot
 * save, member add/remove and move-leader work over TLS too;
 * etcdctl without a client certificate, and etcdctl in plaintext, are refused and write
 * nothing; the etcd3 package with credentials puts and gets, and with a client certificate
 * from another CA is refused. Skipped, saying so, where openssl or etcdctl is absent.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ClusterCerts, ensureClusterCerts, hasOpenssl } from '../../cluster/certs.js';
import { TestCluster } from '../support/cluster.js';
import {
  ETCDCTL,
  type EtcdctlResult,
  eventually,
  hasEtcdctl,
  etcdctl as runEtcdctl,
} from '../support/etcdctl.js';

const canTls = hasOpenssl();
if (!canTls) console.warn('TLS tests skipped: openssl is not on the PATH (it makes the certificates)');
if (!hasEtcdctl) console.warn('etcdctl TLS tests skipped: install Debian etcd-client');

let cluster: TestCluster;
let client: Etcd3;
let certs: ClusterCerts;

/** What etcdctl is given: the CA and client certificate, the CA only, or no TLS at all (http://). */
type Credentials = 'full' | 'ca-only' | 'plaintext';

function etcdctl(args: string[], credentials: Credentials = 'full'): Promise<EtcdctlResult> {
  const scheme = credentials === 'plaintext' ? 'http' : 'https';
  const endpoints = cluster.topology.members.map((m) => `${scheme}://127.0.0.1:${m.clientPort}`);
  const tls =
    credentials === 'full'
      ? [`--cacert=${certs.caFile}`, `--cert=${certs.client.certFile}`, `--key=${certs.client.keyFile}`]
      : credentials === 'ca-only'
        ? [`--cacert=${certs.caFile}`]
        : [];
  return runEtcdctl(endpoints, ['--dial-timeout=2s', ...tls, ...args]);
}

const retry = eventually;

describe.skipIf(!canTls)('a TLS cluster', () => {
  beforeAll(async () => {
    cluster = await TestCluster.start(undefined, { tls: true });
    certs = cluster.topology.tls!;
    client = cluster.client();
    // A leader exists only if the members reached each other over peer TLS.
    await retry(() => client.put('ready').value('1').exec());
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  }, 60_000);

  test('every member is configured with https URLs and client-cert-auth', () => {
    for (const m of cluster.topology.members) {
      expect(m.clientUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(m.peerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    }
  });

  test('the etcd3 package with the client certificate puts and gets', async () => {
    await client.put('tls/etcd3').value('yes').exec();
    expect(await client.get('tls/etcd3').string()).toBe('yes');
  });

  test('the etcd3 package with a client certificate from another CA is refused', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'cairn-other-ca-'));
    const other = ensureClusterCerts(otherDir, []);
    const stranger = new Etcd3({
      hosts: cluster.topology.members.map((m) => m.clientUrl),
      dialTimeout: 2000,
      credentials: {
        rootCertificate: readFileSync(certs.caFile),
        certChain: readFileSync(other.client.certFile),
        privateKey: readFileSync(other.client.keyFile),
      },
    });
    try {
      const outcome = await stranger
        .put('tls/stranger')
        .value('no')
        .exec()
        .then(
          () => 'accepted',
          (e: Error) => `refused: ${e.message}`,
        );
      expect(outcome).toMatch(/^refused/);
    } finally {
      stranger.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
    expect(await client.get('tls/stranger').string()).toBeNull();
  });

  describe.skipIf(!hasEtcdctl)('etcdctl 3.4', () => {
    test('with --cacert, --cert and --key: put and get', async () => {
      expect((await etcdctl(['put', 'tls/ctl', 'v1'])).stdout.trim()).toBe('OK');
      expect((await etcdctl(['get', 'tls/ctl'])).stdout.split('\n').slice(0, 2)).toEqual(['tls/ctl', 'v1']);
      expect(await client.get('tls/ctl').string()).toBe('v1');
    });

    test('endpoint status answers for every https endpoint, with one leader', async () => {
      const res = await etcdctl(['endpoint', 'status', '-w', 'json']);
      expect(res.code).toBe(0);
      const status = JSON.parse(res.stdout) as {
        Endpoint: string;
        Status: { leader: number; header: { member_id: number } };
      }[];
      expect(status.map((s) => s.Endpoint).sort()).toEqual(
        cluster.topology.members.map((m) => `https://127.0.0.1:${m.clientPort}`).sort(),
      );
      expect(new Set(status.map((s) => s.Status.leader)).size).toBe(1);
    });

    test('member list shows https peer and client URLs', async () => {
      // Client URLs arrive as each member publishes them through raft.
      const members = await retry(async () => {
        const res = await etcdctl(['member', 'list', '-w', 'json']);
        const parsed = JSON.parse(res.stdout) as {
          members: { name: string; peerURLs: string[]; clientURLs?: string[] }[];
        };
        if (parsed.members.some((m) => (m.clientURLs ?? []).length === 0))
          throw new Error('not yet published');
        return parsed.members;
      });
      const byName = new Map(members.map((m) => [m.name, m]));
      for (const m of cluster.topology.members) {
        expect(byName.get(m.name)?.peerURLs).toEqual([m.peerUrl]);
        expect(byName.get(m.name)?.clientURLs).toEqual([m.clientUrl]);
      }
    });

    test('leases over TLS: grant, put --lease, timetolive --keys, keep-alive (forwarded by followers), revoke', async () => {
      const grant = await etcdctl(['lease', 'grant', '30']);
      const id = /lease ([0-9a-f]+) granted/.exec(grant.stdout)?.[1];
      expect(id, grant.stderr).toBeDefined();
      expect((await etcdctl(['put', '--lease', id!, 'tls/leased', 'v'])).code).toBe(0);
      expect((await etcdctl(['lease', 'timetolive', '--keys', id!])).stdout).toContain(
        'attached keys([tls/leased])',
      );
      for (const m of cluster.topology.members) {
        const one = await runEtcdctl(
          [`https://127.0.0.1:${m.clientPort}`],
          [
            `--cacert=${certs.caFile}`,
            `--cert=${certs.client.certFile}`,
            `--key=${certs.client.keyFile}`,
            'lease',
            'keep-alive',
            '--once',
            id!,
          ],
        );
        expect(one.stdout, one.stderr).toContain('keepalived with TTL(30)');
      }
      expect((await etcdctl(['lease', 'list'])).stdout).toContain(id!);
      expect((await etcdctl(['lease', 'revoke', id!])).stdout).toContain('revoked');
      expect(await client.get('tls/leased').string()).toBeNull();
    });

    test('watch --rev over TLS replays history and follows new writes', async () => {
      const first = await client.put('tls/w/1').value('a').exec();
      await client.put('tls/w/2').value('b').exec();
      const endpoints = cluster.topology.members.map((m) => `https://127.0.0.1:${m.clientPort}`).join(',');
      const watcher = spawn(
        ETCDCTL,
        [
          `--endpoints=${endpoints}`,
          `--cacert=${certs.caFile}`,
          `--cert=${certs.client.certFile}`,
          `--key=${certs.client.keyFile}`,
          'watch',
          '--prefix',
          `--rev=${first.header.revision}`,
          'tls/w/',
        ],
        { env: { ...process.env, ETCDCTL_API: '3' } },
      );
      let out = '';
      watcher.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      try {
        await retry(async () => {
          if (!out.includes('tls/w/2')) throw new Error('history not replayed yet');
        });
        await client.put('tls/w/3').value('c').exec();
        await retry(async () => {
          if (!out.includes('tls/w/3')) throw new Error('new write not seen yet');
        });
      } finally {
        watcher.kill('SIGKILL');
      }
      expect(out.trim().split('\n')).toEqual([
        'PUT',
        'tls/w/1',
        'a',
        'PUT',
        'tls/w/2',
        'b',
        'PUT',
        'tls/w/3',
        'c',
      ]);
    });

    test('elect over TLS campaigns and leads; the proposal is the value of the election key', async () => {
      const endpoints = cluster.topology.members.map((m) => `https://127.0.0.1:${m.clientPort}`).join(',');
      const tls = [
        `--cacert=${certs.caFile}`,
        `--cert=${certs.client.certFile}`,
        `--key=${certs.client.keyFile}`,
      ];
      const candidate = spawn(ETCDCTL, [`--endpoints=${endpoints}`, ...tls, 'elect', 'tls-elect', 'node-a'], {
        env: { ...process.env, ETCDCTL_API: '3' },
      });
      let out = '';
      candidate.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      try {
        await retry(async () => {
          if (!out.includes('tls-elect/')) throw new Error('not leading yet');
        });
        const leader = await etcdctl(['get', '--prefix', 'tls-elect/', '--print-value-only']);
        expect(leader.stdout.trim()).toBe('node-a');
      } finally {
        candidate.kill('SIGINT');
      }
      // etcdctl resigns on an interrupt: the election key goes.
      await retry(async () => {
        if ((await client.getAll().prefix('tls-elect/').keys()).length > 0) throw new Error('still leading');
      });
    });

    test('lock over TLS runs its command holding the lock and exports the fencing token', async () => {
      const res = await etcdctl([
        'lock',
        'tls-lock',
        '--',
        'sh',
        '-c',
        'echo "rev=$ETCD_LOCK_REV key=$ETCD_LOCK_KEY"',
      ]);
      expect(res.code, res.stderr).toBe(0);
      const m = /rev=(\d+) key=tls-lock\/([0-9a-f]+)/.exec(res.stdout);
      expect(m, res.stdout).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThan(1);
      // Released when the command ended: nothing is left under the lock's prefix.
      expect((await client.getAll().prefix('tls-lock/').keys()).length).toBe(0);
    });

    test('endpoint health, snapshot save, member add/remove and move-leader over TLS', async () => {
      const tlsFlags = [
        `--cacert=${certs.caFile}`,
        `--cert=${certs.client.certFile}`,
        `--key=${certs.client.keyFile}`,
      ];
      const health = await etcdctl(['endpoint', 'health']);
      expect(health.code, health.stderr).toBe(0);
      expect(`${health.stdout}${health.stderr}`.match(/is healthy/g)).toHaveLength(3);

      const dir = mkdtempSync(join(tmpdir(), 'cairn-tls-snap-'));
      try {
        const file = join(dir, 'snap.db');
        const one = [`https://127.0.0.1:${cluster.topology.members[0]!.clientPort}`];
        const snap = await runEtcdctl(one, [...tlsFlags, 'snapshot', 'save', file]);
        expect(`${snap.stdout}${snap.stderr}`).toContain(`Snapshot saved at ${file}`);
        expect(readFileSync(file).byteLength).toBeGreaterThan(32);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      // A learner that never starts does not count toward the quorum: add it, see it, remove it.
      const add = await etcdctl([
        'member',
        'add',
        'tls-learner',
        '--learner',
        '--peer-urls=https://127.0.0.1:1',
      ]);
      expect(add.code, add.stderr).toBe(0);
      const id = /Member\s+([0-9a-f]+) added/.exec(add.stdout)?.[1];
      expect(id, add.stdout).toBeDefined();
      expect((await etcdctl(['member', 'list'])).stdout).toContain(id!);
      const remove = await etcdctl(['member', 'remove', id!]);
      expect(remove.stdout, remove.stderr).toMatch(new RegExp(`Member\\s+${id} removed`));

      const status = JSON.parse((await etcdctl(['endpoint', 'status', '-w', 'json'])).stdout) as {
        Endpoint: string;
        Status: { leader: number; header: { member_id: number } };
      }[];
      const leader = status.find((x) => x.Status.header.member_id === x.Status.leader)!;
      const target = status.find((x) => x !== leader)!;
      const moved = await runEtcdctl(
        [leader.Endpoint],
        [...tlsFlags, 'move-leader', target.Status.header.member_id.toString(16)],
      );
      expect(moved.stdout, moved.stderr).toContain('Leadership transferred');
      await retry(async () => {
        const now = JSON.parse((await etcdctl(['endpoint', 'status', '-w', 'json'])).stdout) as typeof status;
        if (now[0]!.Status.leader !== target.Status.header.member_id) throw new Error('not moved yet');
      });
    });

    test('without a client certificate it is refused and writes nothing', async () => {
      const res = await etcdctl(['put', 'tls/no-cert', 'x'], 'ca-only');
      expect(res.code).not.toBe(0);
      expect(await client.get('tls/no-cert').string()).toBeNull();
    });

    test('in plaintext against the TLS port it fails and writes nothing', async () => {
      const res = await etcdctl(['put', 'tls/plaintext', 'x'], 'plaintext');
      expect(res.code).not.toBe(0);
      expect(await client.get('tls/plaintext').string()).toBeNull();
    });
  });
});
