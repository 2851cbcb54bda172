/**
 * Proves cairnctl works end to end: the real CLI runs as a child process against a real
 * three-member TestCluster, and each test checks what it printed (table and JSON) and its exit
 * code — KV round trips, a watch that sees puts made meanwhile, txn files taking both branches,
 * the lease commands, cluster status with exactly one leader, a snapshot whose digest checks,
 * a tiny load test, and the documented codes for usage errors and unreachable endpoints.
 * Independent runs go in parallel to keep the file quick.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCluster } from '../support/cluster.js';
import { freePort } from '../support/ports.js';
import { cairnctl, clusterForCli } from './run-cli.js';

let cluster: TestCluster;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairnctl-'));
  ({ cluster, env } = await clusterForCli());
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], stdin?: string) {
  return cairnctl(['--command-timeout', '15s', ...args], { env, ...(stdin !== undefined ? { stdin } : {}) });
}

describe('cairnctl without a cluster', { timeout: 120_000 }, () => {
  it('answers usage errors with exit 2 and help with the exit-code table', async () => {
    const [unknown, missing, badFlag, help] = await Promise.all([
      cairnctl(['frobnicate']),
      cairnctl(['get']),
      cairnctl(['get', 'k', '--nope']),
      cairnctl(['help']),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/usage: cairnctl get KEY/);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/--nope/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:/);
    expect(help.stdout).toMatch(/4 +cannot reach any endpoint/);
  });

  it('exits 4 with a helpful message when no endpoint listens', async () => {
    const port = await freePort();
    const r = await cairnctl(['--endpoints', `127.0.0.1:${port}`, '--command-timeout', '3s', 'get', 'k']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`cannot reach any of 127.0.0.1:${port}: is the cluster running? (npm start)`);
  });
});

describe('cairnctl against a cluster', { timeout: 120_000 }, () => {
  it('puts, gets and deletes in table and JSON output', async () => {
    expect((await run(['put', 'cli/a', 'alpha'])).stdout).toMatch(/^OK \(revision \d+\)/);
    const put = await run(['put', 'cli/b', 'beta', '-o', 'json']);
    expect(put.code).toBe(0);
    const putRevision = JSON.parse(put.stdout).revision as number;
    const [table, json, missing] = await Promise.all([
      run(['get', 'cli/', '--prefix']),
      run(['get', 'cli/', '--prefix', '-o', 'json']),
      run(['get', 'cli/none', '--require']),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^KEY +VALUE +VERSION +MOD_REV +LEASE$/);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 2))).toEqual([
      ['cli/a', 'alpha'],
      ['cli/b', 'beta'],
    ]);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.count).toBe(2);
    expect(parsed.kvs[1]).toMatchObject({
      key: 'cli/b',
      value: 'beta',
      version: 1,
      mod_revision: putRevision,
    });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/key not found: cli\/none/);

    const del = await run(['del', 'cli/', '--prefix', '-o', 'json']);
    expect(JSON.parse(del.stdout).deleted).toBe(2);
    const after = await run(['get', 'cli/', '--prefix', '-o', 'json']);
    expect(JSON.parse(after.stdout).kvs).toEqual([]);
  });

  it('watch --count receives the puts made meanwhile', async () => {
    const head = JSON.parse((await run(['get', 'w/', '--prefix', '-o', 'json'])).stdout).revision as number;
    // Start from the next revision, so the puts below are seen however late the watch starts.
    const watching = run([
      'watch',
      'w/',
      '--prefix',
      '--rev',
      String(head + 1),
      '--count',
      '2',
      '-o',
      'json',
    ]);
    await run(['put', 'w/1', 'one']);
    await run(['put', 'w/2', 'two']);
    const r = await watching;
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => [e.type, e.key, e.value])).toEqual([
      ['PUT', 'w/1', 'one'],
      ['PUT', 'w/2', 'two'],
    ]);
  });

  it('txn from a file takes the success branch, then the failure branch (exit 1)', async () => {
    await run(['put', 'tx/k', 'v1']);
    const file = join(dir, 'txn.txt');
    writeFileSync(file, 'value("tx/k") = "v1"\n\nput tx/k v2\n\nget tx/k\n');
    const first = await run(['txn', '--file', file]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^SUCCESS\n\nput: OK/);
    const second = await run(['txn', '--file', file, '-o', 'json']);
    expect(second.code).toBe(1);
    const parsed = JSON.parse(second.stdout);
    expect(parsed.succeeded).toBe(false);
    expect(parsed.responses[0].kvs[0]).toMatchObject({ key: 'tx/k', value: 'v2' });
    const viaStdin = await run(['txn'], 'value("tx/k") = "v2"\n\ndel tx/k\n\n');
    expect(viaStdin.code).toBe(0);
    expect(viaStdin.stdout).toMatch(/del: deleted 1/);
  });

  it('grants, inspects, lists and revokes a lease', async () => {
    const grant = await run(['lease', 'grant', '600', '-o', 'json']);
    expect(grant.code).toBe(0);
    const id = JSON.parse(grant.stdout).id as string;
    expect(id).toMatch(/^[0-9a-f]+$/);
    await run(['put', 'lk', 'x', '--lease', id]);
    const [ttl, list] = await Promise.all([
      run(['lease', 'ttl', id, '--keys', '-o', 'json']),
      run(['lease', 'list']),
    ]);
    const t = JSON.parse(ttl.stdout);
    expect(t.granted_ttl).toBe(600);
    expect(t.ttl).toBeGreaterThan(0);
    expect(t.keys).toEqual(['lk']);
    expect(list.stdout).toContain(id);
    expect((await run(['lease', 'revoke', id])).stdout).toContain(`lease ${id} revoked`);
    const [gone, key] = await Promise.all([run(['lease', 'ttl', id]), run(['get', 'lk', '--require'])]);
    expect(gone.code).toBe(3);
    expect(key.code).toBe(3);
  });

  it('cluster status lists three members with exactly one leader', async () => {
    const [json, table] = await Promise.all([
      run(['cluster', 'status', '-o', 'json']),
      run(['cluster', 'status']),
    ]);
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout);
    expect(s.members).toHaveLength(3);
    expect(s.members.filter((m: { is_leader: boolean }) => m.is_leader)).toHaveLength(1);
    expect(s.members.every((m: { raft_term: number }) => m.raft_term > 0)).toBe(true);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID +NAME +ENDPOINT +ROLE +TERM +RAFT INDEX +REVISION +DB SIZE/);
    expect(rows.filter((r) => / leader /.test(r))).toHaveLength(1);
  });

  it('snapshot save writes a file whose size and SHA-256 check', async () => {
    const path = join(dir, 'snap.db');
    const r = await run(['snapshot', 'save', path, '-o', 'json']);
    expect(r.code).toBe(0);
    const saved = JSON.parse(r.stdout);
    const file = readFileSync(path);
    expect(file.byteLength).toBe(saved.size);
    expect(file.byteLength % 512).toBe(32);
    const body = file.subarray(0, file.byteLength - 32);
    expect(createHash('sha256').update(body).digest('hex')).toBe(file.subarray(-32).toString('hex'));
    expect(saved.sha256).toBe(file.subarray(-32).toString('hex'));
  });

  it('check perf runs a tiny bounded load and cleans up', async () => {
    const r = await run([
      'check',
      'perf',
      '--total',
      '20',
      '--clients',
      '2',
      '--duration',
      '20s',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p).toMatchObject({ puts: 20, errors: 0, clients: 2 });
    expect(p.p99_ms).toBeGreaterThanOrEqual(p.p50_ms);
    expect(p.throughput_per_s).toBeGreaterThan(0);
    const left = await run(['get', '/cairnctl/check-perf/', '--prefix', '--count-only']);
    expect(left.stdout.trim()).toBe('0');
  });

  it('lock runs a command holding the lock with CAIRN_FENCING_TOKEN set, and releases it', async () => {
    const r = await run([
      'lock',
      'cli-lock',
      '--',
      process.execPath,
      '-e',
      'console.log("token=" + process.env.CAIRN_FENCING_TOKEN); process.exit(7)',
    ]);
    expect(r.code).toBe(7);
    const token = Number(/token=(\d+)/.exec(r.stdout)?.[1]);
    expect(token).toBeGreaterThan(0);
    const after = await run(['lock', 'describe', 'cli-lock']);
    expect(after.code).toBe(3);
  });

  it('lease keep-alive --once renews and exits 0', async () => {
    const id = JSON.parse((await run(['lease', 'grant', '60', '-o', 'json'])).stdout).id as string;
    const once = await run(['lease', 'keep-alive', id, '--once']);
    expect(once.code).toBe(0);
    expect(once.stdout).toContain(id);
    expect((await run(['lease', 'revoke', id])).code).toBe(0);
    expect((await run(['lease', 'keep-alive', id, '--once'])).code).not.toBe(0);
  });

  it('cluster add (learner), remove and move-leader change the membership and the leader', async () => {
    const peer = `http://127.0.0.1:${await freePort()}`;
    const added = await run(['cluster', 'add', peer, '--learner', '-o', 'json']);
    expect(added.code).toBe(0);
    const learner = JSON.parse(added.stdout).member as { id: string; is_learner: boolean };
    expect(learner.is_learner).toBe(true);
    const four = JSON.parse((await run(['cluster', 'members', '-o', 'json'])).stdout) as {
      members: { id: string; name: string; peer_urls: string[]; client_urls: string[] }[];
    };
    expect(JSON.stringify(four)).toContain(learner.id);
    // The table: aligned columns, one row per member, the unstarted learner marked as such.
    const table = await run(['cluster', 'members']);
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID +NAME +PEER URLS +CLIENT URLS +LEARNER$/);
    expect(rows).toHaveLength(5);
    const cells = (id: string) => rows.find((r) => r.startsWith(`${id} `))?.split(/ {2,}/);
    expect(cells(learner.id)).toEqual([learner.id, '(unstarted)', peer, 'yes']);
    for (const m of four.members.filter((x) => x.id !== learner.id)) {
      expect(cells(m.id)).toEqual([m.id, m.name, m.peer_urls.join(','), m.client_urls.join(',')]);
    }
    expect((await run(['cluster', 'remove', learner.id])).code).toBe(0);
    expect((await run(['cluster', 'members', '-o', 'json'])).stdout).not.toContain(learner.id);

    const status = JSON.parse((await run(['cluster', 'status', '-o', 'json'])).stdout) as {
      leader: string;
      members: { id: string; is_leader: boolean }[];
    };
    const target = status.members.find((m) => !m.is_leader)!.id;
    const moved = await run(['cluster', 'move-leader', target]);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(`member ${target} is now the leader`);
    const after = JSON.parse((await run(['cluster', 'status', '-o', 'json'])).stdout);
    expect(after.leader).toBe(target);
    expect((await run(['cluster', 'move-leader', 'ffff'])).code).toBe(3);
  });
});
