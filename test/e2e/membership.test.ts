/**
 * Proves run-time membership on a real three-member cluster driven by etcdctl 3.4, as an
 * operator would: `member add` then a fourth process started with
 * --initial-cluster-state existing catches up (a key written before it existed is read from
 * it with a serializable get) and `member list` shows four; a learner is refused promotion
 * until it runs and is in sync, then promoted; a running member that is removed stops by
 * itself while the cluster keeps taking writes; a member removed while it was down is
 * refused by its peers when it comes back and stops; removing an unknown id answers etcd's
 * "member not found". Skipped, saying so, where etcdctl is absent.
 */

import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalMember } from '../../cluster/topology.js';
import { TestCluster } from '../support/cluster.js';

const run = promisify(execFile);
const ETCDCTL = '/usr/bin/etcdctl';
const hasEtcdctl = existsSync(ETCDCTL);
if (!hasEtcdctl)
  console.warn(
    'membership end-to-end tests skipped: install Debian etcd-client (apt-get install -y etcd-client)',
  );

let cluster: TestCluster;

/** Members whose process is running, by name. */
function alive(): LocalMember[] {
  return [...cluster.processes.entries()]
    .filter(([, p]) => p.exitCode === null && p.signalCode === null)
    .map(([name]) => cluster.member(name));
}

async function etcdctl(
  args: string[],
  members: readonly LocalMember[] = alive(),
): Promise<{ stdout: string; stderr: string; code: number }> {
  const endpoints = members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  try {
    const { stdout, stderr } = await run(
      ETCDCTL,
      [`--endpoints=${endpoints}`, '--command-timeout=15s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    );
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** Runs etcdctl until it succeeds (and `accept` agrees), or the deadline passes. */
async function until(
  args: string[],
  accept: (stdout: string) => boolean = () => true,
  members?: () => readonly LocalMember[],
  deadlineMs = 60_000,
): Promise<string> {
  const stop = Date.now() + deadlineMs;
  let last = '';
  for (;;) {
    const r = await etcdctl(args, members?.());
    if (r.code === 0 && accept(r.stdout)) return r.stdout;
    last = `${r.stdout}${r.stderr}`;
    if (Date.now() > stop) throw new Error(`etcdctl ${args.join(' ')} never succeeded: ${last}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** `member list` as rows: hex id, status, name, peer URLs, client URLs, learner. */
async function memberList(): Promise<string[][]> {
  const out = await until(['member', 'list']);
  return out
    .trim()
    .split('\n')
    .map((line) => line.split(', '));
}

/** Adds a member with etcdctl and returns the hex id it printed. */
async function memberAdd(m: LocalMember, learner: boolean): Promise<string> {
  const out = await until([
    'member',
    'add',
    m.name,
    `--peer-urls=${m.peerUrl}`,
    ...(learner ? ['--learner'] : []),
  ]);
  const match = /Member\s+([0-9a-f]+) added to cluster\s+([0-9a-f]+)/.exec(out);
  expect(match, out).not.toBeNull();
  expect(out).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"');
  return match![1]!;
}

function exited(p: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (p.exitCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${p.pid} still running`)), timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe.skipIf(!hasEtcdctl)('membership at run time with etcdctl', () => {
  beforeAll(async () => {
    cluster = await TestCluster.start();
    await until(['put', 'before', 'joined-later']);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  test('member add, then a fourth member joins, catches up and is listed', async () => {
    const n4 = await cluster.newMember('n4');
    const id = await memberAdd(n4, false);
    cluster.startJoining(n4);
    const got = await until(
      ['get', 'before', '--consistency=s', '--print-value-only'],
      (s) => s.trim() !== '',
      () => [n4],
    );
    expect(got.trim()).toBe('joined-later');
    await until(['member', 'list'], (s) => s.includes(`, n4, ${n4.peerUrl}, ${n4.clientUrl}, false`));
    const rows = await memberList();
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => r[2]).sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(rows.find((r) => r[2] === 'n4')?.[0]).toBe(id);
  }, 120_000);

  test('a learner is promoted only once it runs and is in sync', async () => {
    const n5 = await cluster.newMember('n5');
    const id = await memberAdd(n5, true);
    expect((await memberList()).find((r) => r[0] === id)?.[5]).toBe('true');
    const early = await etcdctl(['member', 'promote', id]);
    expect(early.code).not.toBe(0);
    expect(early.stderr).toContain(
      'etcdserver: can only promote a learner member which is in sync with leader',
    );
    cluster.startJoining(n5);
    await until(
      ['get', 'before', '--consistency=s'],
      (s) => s.includes('joined-later'),
      () => [n5],
    );
    const promoted = await until(['member', 'promote', id]);
    expect(promoted).toMatch(new RegExp(`Member\\s+${id} promoted in cluster`));
    expect((await memberList()).find((r) => r[0] === id)?.[5]).toBe('false');
    const again = await etcdctl(['member', 'promote', id]);
    expect(again.stderr).toContain('etcdserver: can only promote a learner member');
  }, 120_000);

  test('a removed member stops by itself and the cluster keeps taking writes', async () => {
    const rows = await memberList();
    const n2 = rows.find((r) => r[2] === 'n2')!;
    // Sent through the members that stay (removing a member through its own endpoint
    // sometimes got an empty answer under load: see the stop note).
    const removed = await etcdctl(
      ['member', 'remove', n2[0]!],
      alive().filter((m) => m.name !== 'n2'),
    );
    expect(removed.stdout, removed.stderr).toMatch(new RegExp(`Member\\s+${n2[0]} removed from cluster`));
    expect(await exited(cluster.processes.get('n2')!, 30_000)).toBe(0);
    await until(['put', 'after-remove', 'ok']);
    const after = await memberList();
    expect(after.map((r) => r[2]).sort()).toEqual(['n1', 'n3', 'n4', 'n5']);
    const read = await until(
      ['get', 'after-remove', '--print-value-only'],
      () => true,
      () => [cluster.member('n4')],
    );
    expect(read.trim()).toBe('ok');
  }, 120_000);

  test('a member removed while down is refused when it comes back, and stops', async () => {
    const id = (await memberList()).find((r) => r[2] === 'n4')![0]!;
    await cluster.kill('n4', 'SIGTERM');
    await until(['member', 'remove', id]);
    const back = cluster.startJoining(cluster.member('n4'));
    expect(await exited(back, 60_000)).toBe(0);
    await until(['put', 'after-refusal', 'ok']);
    expect((await memberList()).map((r) => r[2]).sort()).toEqual(['n1', 'n3', 'n5']);
  }, 120_000);

  test('removing an unknown member answers etcd error text', async () => {
    const r = await etcdctl(['member', 'remove', 'abcdef123']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('etcdserver: member not found');
  }, 60_000);
});
