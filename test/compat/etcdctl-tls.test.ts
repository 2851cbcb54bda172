/**
 * Proves a Cairn cluster serves clients and peers over TLS with etcd's flags: three real
 * members with https client and peer URLs and client-cert-auth on both (certificates made by
 * cluster/certs.ts, as `npm run start:tls` makes them) elect a leader over TLS; etcdctl 3.4
 * with --cacert/--cert/--key puts, gets, reads endpoint status and lists https members;
 * etcdctl without a client certificate, and etcdctl in plaintext, are refused and write
 * nothing; the etcd3 package with credentials puts and gets, and with a client certificate
 * from another CA is refused. Skipped, saying so, where openssl or etcdctl is absent.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ClusterCerts, ensureClusterCerts, hasOpenssl } from '../../cluster/certs.js';
import { TestCluster } from '../support/cluster.js';

const run = promisify(execFile);
const ETCDCTL = '/usr/bin/etcdctl';
const hasEtcdctl = existsSync(ETCDCTL);
const canTls = hasOpenssl();
if (!canTls) console.warn('TLS tests skipped: openssl is not on the PATH (it makes the certificates)');
if (!hasEtcdctl) console.warn('etcdctl TLS tests skipped: install Debian etcd-client');

let cluster: TestCluster;
let client: Etcd3;
let certs: ClusterCerts;

/** What etcdctl is given: the CA and client certificate, the CA only, or no TLS at all (http://). */
type Credentials = 'full' | 'ca-only' | 'plaintext';

async function etcdctl(
  args: string[],
  credentials: Credentials = 'full',
): Promise<{ stdout: string; stderr: string; code: number }> {
  const scheme = credentials === 'plaintext' ? 'http' : 'https';
  const endpoints = cluster.topology.members.map((m) => `${scheme}://127.0.0.1:${m.clientPort}`).join(',');
  const tls =
    credentials === 'full'
      ? [`--cacert=${certs.caFile}`, `--cert=${certs.client.certFile}`, `--key=${certs.client.keyFile}`]
      : credentials === 'ca-only'
        ? [`--cacert=${certs.caFile}`]
        : [];
  try {
    const { stdout, stderr } = await run(
      ETCDCTL,
      [`--endpoints=${endpoints}`, '--dial-timeout=2s', '--command-timeout=5s', ...tls, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    );
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

async function retry<T>(fn: () => Promise<T>, deadlineMs = 20_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

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
