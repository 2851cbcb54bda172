/**
 * Proves that etcdctl 3.4's lock and elect (etcd's clientv3 concurrency recipes) and Cairn's
 * Lock and Election services share one key layout on a real three-member cluster: a lock
 * held by either excludes the other, in both orders, with fencing tokens (ETCD_LOCK_REV, the
 * key's create revision) that grow; etcdctl elect and Campaign never lead together, Leader
 * reports etcdctl's proposal, and Observe (the service's and `etcdctl elect -l`) follows the
 * leader across Proclaim and Resign. etcdctl takes its session lease from the Lease service
 * and waits with the Watch service: each test skips itself, saying so, while the cluster does
 * not serve both (probed: UNIMPLEMENTED), and where etcdctl is absent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster } from '../support/cluster.js';
import {
  type EtcdGrpc,
  etcdGrpc,
  keysUnder,
  retry,
  unary,
  unaryRetrying,
  until,
  type Wire,
} from '../support/etcd-grpc.js';

const ETCDCTL = '/usr/bin/etcdctl';
const hasEtcdctl = existsSync(ETCDCTL);

let cluster: TestCluster;
let members: EtcdGrpc[] = [];
const children: ChildProcess[] = [];

/** A long-running etcdctl with its output collected as it comes. */
interface Etcdctl {
  readonly child: ChildProcess;
  readonly out: () => string;
  readonly exited: Promise<number | null>;
}

function etcdctl(args: string[]): Etcdctl {
  const endpoints = cluster.topology.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  const child = spawn(ETCDCTL, [`--endpoints=${endpoints}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function lease(): Promise<number> {
  return Number((await unaryRetrying(members[0]!.lease, 'LeaseGrant', { TTL: 60, ID: 0 })).ID);
}

function tracked<T>(p: Promise<T>): { done: boolean; promise: Promise<T> } {
  const t = { done: false, promise: p };
  const mark = (): void => {
    t.done = true;
  };
  p.then(mark, mark);
  return t;
}

describe.skipIf(!hasEtcdctl)('etcdctl lock/elect and the Lock/Election services', () => {
  beforeAll(async () => {
    cluster = await TestCluster.start();
    members = cluster.topology.members.map((m) => etcdGrpc(m.clientUrl));
    for (const m of members)
      await retry(() => unary(m.kv, 'Put', { key: Buffer.from('ready'), value: Buffer.from('1') }), 45_000);
  }, 60_000);

  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  afterAll(async () => {
    for (const m of members) m.close();
    await cluster?.stop();
  }, 60_000);

  test('two etcdctl lock holders exclude each other: the second runs its command only after the first lets go', async () => {
    const first = etcdctl(['lock', 'pay/two-ctl']);
    await until(async () => first.out().includes('pay/two-ctl/'), 'the first etcdctl to hold the lock');
    const firstRev = (await keysUnder(members[0]!.kv, 'pay/two-ctl/'))[0]!.create_revision;
    const second = etcdctl([
      'lock',
      'pay/two-ctl',
      '--',
      'sh',
      '-c',
      'echo "second holds rev=$ETCD_LOCK_REV"',
    ]);
    await until(
      async () => (await keysUnder(members[0]!.kv, 'pay/two-ctl/')).length === 2,
      'the second in line',
    );
    expect(second.out()).not.toContain('second holds');
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(await second.exited).toBe(0);
    const rev = Number(/second holds rev=(\d+)/.exec(second.out())?.[1]);
    expect(rev).toBeGreaterThan(Number(firstRev));
    expect(await keysUnder(members[0]!.kv, 'pay/two-ctl/')).toEqual([]);
  });

  test('etcdctl lock holds: the Lock service waits, and gets the lock once etcdctl lets go', async () => {
    const ctl = etcdctl(['lock', 'pay/ctl-first']);
    await until(async () => ctl.out().includes('pay/ctl-first/'), 'etcdctl to hold the lock');
    const ctlKey = ctl.out().split('\n')[0]!.trim();
    const ctlRev = (await keysUnder(members[0]!.kv, 'pay/ctl-first/'))[0]!.create_revision;

    const service = tracked(
      unaryRetrying(members[1]!.lock, 'Lock', { name: Buffer.from('pay/ctl-first'), lease: await lease() }),
    );
    await until(
      async () => (await keysUnder(members[0]!.kv, 'pay/ctl-first/')).length === 2,
      'the service in line',
    );
    expect(service.done).toBe(false);
    expect((await keysUnder(members[0]!.kv, 'pay/ctl-first/'))[0]!.key).toBe(ctlKey);

    ctl.child.kill('SIGINT'); // etcdctl unlocks on an interrupt
    expect(await ctl.exited).toBe(0);
    const held = await service.promise;
    const line = await keysUnder(members[0]!.kv, 'pay/ctl-first/');
    expect(line.map((k) => k.key)).toEqual([held.key.toString()]);
    expect(line[0]!.create_revision).toBeGreaterThan(ctlRev);
    await unaryRetrying(members[1]!.lock, 'Unlock', { key: held.key });
  });

  test('the Lock service holds: etcdctl lock waits, then runs its command with a larger ETCD_LOCK_REV', async () => {
    const held = await unaryRetrying(members[0]!.lock, 'Lock', {
      name: Buffer.from('pay/svc-first'),
      lease: await lease(),
    });
    const heldRev = (await keysUnder(members[0]!.kv, 'pay/svc-first/'))[0]!.create_revision;

    const ctl = etcdctl(['lock', 'pay/svc-first', '--', 'sh', '-c', 'echo "rev=$ETCD_LOCK_REV"']);
    await until(
      async () => (await keysUnder(members[0]!.kv, 'pay/svc-first/')).length === 2,
      'etcdctl in line',
    );
    expect(ctl.child.exitCode).toBeNull();
    expect(ctl.out()).not.toContain('rev=');

    await unaryRetrying(members[0]!.lock, 'Unlock', { key: held.key });
    expect(await ctl.exited).toBe(0);
    const rev = Number(/rev=(\d+)/.exec(ctl.out())?.[1]);
    expect(rev).toBeGreaterThan(heldRev);
    // etcdctl unlocked after its command: the name is free again.
    expect(await keysUnder(members[0]!.kv, 'pay/svc-first/')).toEqual([]);
  });

  test('etcdctl elect leads: Leader reports it, Campaign waits, and wins when etcdctl resigns; Observe sees both', async () => {
    const name = Buffer.from('svc/ctl-first');
    const ctl = etcdctl(['elect', 'svc/ctl-first', 'ctl-proposal']);
    await until(async () => ctl.out().includes('ctl-proposal'), 'etcdctl to lead');
    const leader = await unaryRetrying(members[2]!.election, 'Leader', { name });
    expect(leader.kv.value.toString()).toBe('ctl-proposal');
    expect(leader.kv.key.toString()).toBe(ctl.out().split('\n')[0]!.trim());

    const observed: string[] = [];
    const stream = (members[1]!.election as Wire).Observe({ name }) as grpc.ClientReadableStream<Wire>;
    stream.on('data', (r: Wire) => observed.push(r.kv.value.toString()));
    stream.on('error', () => {});
    const campaign = tracked(
      unaryRetrying(members[0]!.election, 'Campaign', {
        name,
        lease: await lease(),
        value: Buffer.from('svc-proposal'),
      }),
    );
    await until(
      async () => (await keysUnder(members[0]!.kv, 'svc/ctl-first/')).length === 2,
      'the candidate in line',
    );
    expect(campaign.done).toBe(false);

    ctl.child.kill('SIGINT'); // etcdctl resigns on an interrupt
    expect(await ctl.exited).toBe(0);
    const won = await campaign.promise;
    expect((await unaryRetrying(members[2]!.election, 'Leader', { name })).kv.value.toString()).toBe(
      'svc-proposal',
    );
    await until(async () => observed.includes('svc-proposal'), 'Observe to see the new leader');
    expect(observed).toEqual(['ctl-proposal', 'svc-proposal']);
    stream.cancel();
    await unaryRetrying(members[0]!.election, 'Resign', { leader: won.leader });
  });

  test('Campaign leads: etcdctl elect waits; etcdctl elect -l sees Proclaim and then etcdctl win after Resign', async () => {
    const name = Buffer.from('svc/svc-first');
    const won = await unaryRetrying(members[0]!.election, 'Campaign', {
      name,
      lease: await lease(),
      value: Buffer.from('svc-1'),
    });
    const listener = etcdctl(['elect', '-l', 'svc/svc-first']);
    await until(async () => listener.out().includes('svc-1'), 'etcdctl elect -l to see the leader');

    const ctl = etcdctl(['elect', 'svc/svc-first', 'ctl-proposal']);
    await until(
      async () => (await keysUnder(members[0]!.kv, 'svc/svc-first/')).length === 2,
      'etcdctl in line',
    );
    expect(ctl.out()).not.toContain('ctl-proposal');

    await unaryRetrying(members[0]!.election, 'Proclaim', {
      leader: won.leader,
      value: Buffer.from('svc-2'),
    });
    await until(async () => listener.out().includes('svc-2'), 'etcdctl elect -l to see the proclaimed value');
    expect(ctl.out()).not.toContain('ctl-proposal');

    await unaryRetrying(members[0]!.election, 'Resign', { leader: won.leader });
    await until(async () => ctl.out().includes('ctl-proposal'), 'etcdctl to lead');
    expect((await unaryRetrying(members[1]!.election, 'Leader', { name })).kv.value.toString()).toBe(
      'ctl-proposal',
    );
    await until(
      async () => listener.out().includes('ctl-proposal'),
      'etcdctl elect -l to see the new leader',
    );
    ctl.child.kill('SIGINT');
    expect(await ctl.exited).toBe(0);
  });
});
