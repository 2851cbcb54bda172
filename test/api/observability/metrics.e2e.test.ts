/**
 * Proves the metrics listener on three members started in this one process (so each must
 * have a registry of its own): /metrics exposes etcd's and Cairn's families with values
 * that follow real traffic (proposals committed and applied grow with puts, a failed call
 * is counted with its gRPC code, fsyncs, peer bytes and round trips, a held lock, a
 * registered instance, a preparing transaction), /health, /livez and /readyz answer as
 * etcd's do, and /health flips to "false" with 503 once the last member loses its quorum.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../../src/api/server.js';
import { loadServerConfig } from '../../../src/common/config.js';
import { silentLogger } from '../../../src/common/logger.js';
import { cairnService } from '../../../src/common/proto-loader.js';
import { type EtcdGrpc, etcdGrpc, unary } from '../../support/etcd-grpc.js';
import { eventually } from '../../support/eventually.js';
import { freePorts } from '../../support/ports.js';

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly metricsUrl: string;
  server: RunningServer | undefined;
}

/** One sample of a family from exposition text: the value of the first line matching all labels. */
function sample(text: string, family: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== family) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

async function metricsOf(m: Member): Promise<string> {
  const res = await fetch(`${m.metricsUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

describe('metrics listener', () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-metrics-'));
  const members: Member[] = [];
  let grpcOf: EtcdGrpc;

  beforeAll(async () => {
    const ports = await freePorts(9);
    const names = ['m1', 'm2', 'm3'];
    const peerUrl = (i: number) => `http://127.0.0.1:${ports[3 * i + 1]}`;
    const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
    const configs = names.map((name, i) =>
      loadServerConfig({
        argv: [
          `--name=${name}`,
          `--data-dir=${join(root, name)}`,
          `--listen-client-urls=http://127.0.0.1:${ports[3 * i]}`,
          `--listen-peer-urls=${peerUrl(i)}`,
          `--listen-metrics-urls=http://127.0.0.1:${ports[3 * i + 2]}`,
          `--initial-cluster=${initialCluster}`,
          '--heartbeat-interval=50',
          '--election-timeout=500',
        ],
        env: {},
        readFile: () => '',
      }),
    );
    const servers = await Promise.all(configs.map((c) => startServer(c, silentLogger())));
    names.forEach((name, i) => {
      members.push({
        name,
        clientUrl: `http://127.0.0.1:${ports[3 * i]}`,
        metricsUrl: `http://127.0.0.1:${ports[3 * i + 2]}`,
        server: servers[i],
      });
    });
    grpcOf = etcdGrpc(members[0]!.clientUrl);
    await eventually(async () => {
      const res = await fetch(`${members[0]!.metricsUrl}/health`);
      expect(res.status).toBe(200);
    }, 30_000);
  }, 60_000);

  afterAll(async () => {
    grpcOf?.close();
    for (const m of members) await m.server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves a registry per member: one leader among three, each with its own view', async () => {
    const texts = await Promise.all(members.map(metricsOf));
    for (const t of texts) expect(sample(t, 'etcd_server_has_leader')).toBe(1);
    expect(texts.map((t) => sample(t, 'etcd_server_is_leader')).reduce((a, b) => a! + b!, 0)).toBe(1);
    for (const t of texts) expect(sample(t, 'cairn_raft_term')).toBeGreaterThanOrEqual(1);
    // Lease reads are on by default: the leader holds its read lease while its quorum answers.
    await eventually(async () => {
      const now = await Promise.all(members.map(metricsOf));
      const held = now.map((t) => sample(t, 'cairn_raft_read_lease_held'));
      const leaders = now.map((t) => sample(t, 'etcd_server_is_leader'));
      expect(held).toEqual(leaders);
    }, 5_000);
  });

  it("shows the process's memory, CPU, event-loop delay and GC pauses once on every member", async () => {
    // Allocate enough short-lived garbage that at least one scavenge happens in this process.
    let kept = 0;
    for (let i = 0; i < 200_000; i++) kept += [i, i + 1].length;
    expect(kept).toBe(400_000);
    await eventually(async () => {
      const texts = await Promise.all(members.map(metricsOf));
      for (const t of texts) {
        expect(sample(t, 'process_resident_memory_bytes')!).toBeGreaterThan(10 * 1024 * 1024);
        expect(sample(t, 'process_cpu_seconds_total')!).toBeGreaterThan(0);
        expect(sample(t, 'nodejs_eventloop_lag_p99_seconds')!).toBeGreaterThanOrEqual(0);
        expect(sample(t, 'nodejs_gc_duration_seconds_count', { kind: 'minor' })!).toBeGreaterThan(0);
        // Three members share this process: each family is declared once per exposition.
        const declared = t.split('\n').filter((l) => l === '# TYPE process_resident_memory_bytes gauge');
        expect(declared).toHaveLength(1);
        expect(sample(t, 'etcd_server_has_leader')).toBe(1);
      }
    }, 10_000);
  });

  it('counts proposals, fsyncs, db size and gRPC calls as puts go through', async () => {
    const before = await metricsOf(members[0]!);
    const committedBefore = sample(before, 'etcd_server_proposals_committed_total')!;
    const puts = 20;
    for (let i = 0; i < puts; i++)
      await unary(grpcOf.kv, 'Put', { key: Buffer.from(`k${i}`), value: Buffer.from('v') });
    const after = await metricsOf(members[0]!);
    expect(sample(after, 'etcd_server_proposals_committed_total')!).toBeGreaterThanOrEqual(
      committedBefore + puts,
    );
    expect(sample(after, 'etcd_server_proposals_applied_total')!).toBeGreaterThanOrEqual(
      committedBefore + puts,
    );
    expect(sample(after, 'etcd_server_proposals_pending')).toBe(0);
    expect(sample(after, 'cairn_raft_commit_apply_lag_entries')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'etcd_disk_wal_fsync_duration_seconds_count')!).toBeGreaterThan(0);
    expect(sample(after, 'etcd_mvcc_db_total_size_in_bytes')!).toBeGreaterThan(0);
    expect(
      sample(after, 'grpc_server_handled_total', {
        grpc_service: 'etcdserverpb.KV',
        grpc_method: 'Put',
        grpc_code: 'OK',
        grpc_type: 'unary',
      }),
    ).toBe(puts);
    expect(sample(after, 'grpc_server_started_total', { grpc_method: 'Put' })).toBe(puts);
  });

  it('counts a failed call with its code', async () => {
    await expect(unary(grpcOf.lease, 'LeaseRevoke', { ID: 0x7fff1234 })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    const text = await metricsOf(members[0]!);
    expect(
      sample(text, 'grpc_server_handled_total', { grpc_method: 'LeaseRevoke', grpc_code: 'NotFound' }),
    ).toBe(1);
  });

  it('reports peer traffic and round trips', async () => {
    await eventually(async () => {
      const texts = await Promise.all(members.map(metricsOf));
      for (const t of texts) {
        expect(sample(t, 'etcd_network_peer_sent_bytes_total')!).toBeGreaterThan(0);
        expect(sample(t, 'etcd_network_peer_received_bytes_total')!).toBeGreaterThan(0);
        expect(sample(t, 'etcd_network_peer_round_trip_time_seconds_count')!).toBeGreaterThan(0);
      }
    });
  });

  it('counts locks, instances, transactions, leases and watchers from the state', async () => {
    const lease = await unary(grpcOf.lease, 'LeaseGrant', { TTL: 30, ID: 0 });
    await unary(grpcOf.lock, 'Lock', { name: Buffer.from('metrics-lock'), lease: lease.ID });
    const target = new URL(members[0]!.clientUrl).host;
    const Membership = cairnService('membership.proto', 'MembershipService');
    const membership = new Membership(target, grpc.credentials.createInsecure());
    const Coordinator = cairnService('coordinator.proto', 'CoordinatorService');
    const coordinator = new Coordinator(target, grpc.credentials.createInsecure());
    try {
      await unary(membership, 'Register', {
        service: 'payments',
        instance_id: 'p-1',
        address: '10.0.0.1:9000',
        weight: 5,
        ttl_seconds: 30,
      });
      await unary(coordinator, 'Begin', {
        txn_id: 'metrics-txn',
        participants: ['a', 'b'],
        timeout_ms: 60_000,
      });
      await eventually(async () => {
        const text = await metricsOf(members[1]!);
        expect(sample(text, 'cairn_locks_held')).toBe(1);
        expect(sample(text, 'cairn_locks_waiting')).toBe(0);
        expect(sample(text, 'cairn_membership_instances', { service: 'payments', state: 'SERVING' })).toBe(1);
        expect(sample(text, 'cairn_transactions', { state: 'PREPARING' })).toBe(1);
        expect(sample(text, 'cairn_leases_active')!).toBeGreaterThanOrEqual(2);
        expect(sample(text, 'cairn_watchers_active')).toBeGreaterThanOrEqual(0);
      });
    } finally {
      membership.close();
      coordinator.close();
    }
  });

  it('answers /health, /livez and /readyz as etcd does while the cluster is whole', async () => {
    const health = await fetch(`${members[2]!.metricsUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ health: 'true', reason: '' });
    const livez = await fetch(`${members[2]!.metricsUrl}/livez`);
    expect([livez.status, await livez.text()]).toEqual([200, 'ok']);
    const readyz = await fetch(`${members[2]!.metricsUrl}/readyz?verbose`);
    expect(readyz.status).toBe(200);
    expect(await readyz.text()).toContain('[+]linearizable_read ok');
    expect((await fetch(`${members[2]!.metricsUrl}/nothing`)).status).toBe(404);
  });

  it('flips /health to false with 503 when the member loses its quorum', async () => {
    const last = members[2]!;
    for (const m of members.slice(0, 2)) {
      await m.server?.stop();
      m.server = undefined;
    }
    await eventually(async () => {
      const res = await fetch(`${last.metricsUrl}/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ health: 'false', reason: 'RAFT NO LEADER' });
    }, 20_000);
    expect(sample(await metricsOf(last), 'etcd_server_has_leader')).toBe(0);
    const readyz = await fetch(`${last.metricsUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toContain('[-]linearizable_read failed');
    // Alive all the same: a local read still works.
    expect((await fetch(`${last.metricsUrl}/livez`)).status).toBe(200);
    expect(sample(await metricsOf(last), 'etcd_server_leader_changes_seen_total')!).toBeGreaterThanOrEqual(1);
  }, 40_000);
});
