/**
 * Proves etcd's Lock and Election services on a real three-member cluster, called through
 * plain gRPC on different members: a second Lock on a name waits until the holder unlocks
 * and then holds with a larger fencing token (its key's create revision), a cancelled Lock
 * leaves the line, one Campaign leads at a time, Leader reports it, Observe streams the
 * proclaimed value and the next leader, and bad requests get etcd's errors. Waiting is
 * shown by the waiter's key being in line while its call is unanswered, not by timing.
 * Calls answered UNAVAILABLE (a proposal lost to a leader change) are repeated, which is
 * safe: Lock and Campaign repeated with the same lease find their own key.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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

let cluster: TestCluster;
let members: EtcdGrpc[] = [];

/** A real lease (TTL 60 s) for a participant. */
async function newLease(): Promise<number> {
  return Number((await unaryRetrying(members[0]!.lease, 'LeaseGrant', { TTL: 60, ID: 0 })).ID);
}

function tracked<T>(p: Promise<T>): { done: boolean; promise: Promise<T> } {
  const t = { done: false, promise: p };
  p.then(
    () => {
      t.done = true;
    },
    () => {
      t.done = true;
    },
  );
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

beforeAll(async () => {
  cluster = await TestCluster.start();
  members = cluster.topology.members.map((m) => etcdGrpc(m.clientUrl));
  // Every member writes once before the tests start: the first election has settled.
  for (const m of members)
    await retry(() => unary(m.kv, 'Put', { key: Buffer.from('ready'), value: Buffer.from('1') }), 45_000);
}, 60_000);

afterAll(async () => {
  for (const m of members) m.close();
  await cluster?.stop();
}, 60_000);

describe('Lock service on a real cluster', () => {
  test('the second Lock waits until the first unlocks, then holds with a larger fencing token', async () => {
    const [n1, n2] = members;
    const name = 'pay/ledger';
    const a = await unaryRetrying(n1!.lock, 'Lock', { name: Buffer.from(name), lease: await newLease() });
    const second = tracked(
      unaryRetrying(n2!.lock, 'Lock', { name: Buffer.from(name), lease: await newLease() }),
    );
    await until(async () => (await keysUnder(n1!.kv, `${name}/`)).length === 2, 'the second caller in line');
    const line = await keysUnder(n1!.kv, `${name}/`);
    expect(line[0]!.key).toBe(a.key.toString());
    expect(second.done).toBe(false);

    await unaryRetrying(n1!.lock, 'Unlock', { key: a.key });
    const b = await second.promise;
    const after = await keysUnder(n2!.kv, `${name}/`);
    expect(after.map((k) => k.key)).toEqual([b.key.toString()]);
    expect(after[0]!.create_revision).toBeGreaterThan(line[0]!.create_revision);
    expect(b.header.revision).toBeGreaterThanOrEqual(after[0]!.create_revision);
  });

  test('a cancelled Lock call takes its key out of the line', async () => {
    const [n1, , n3] = members;
    const name = 'pay/cancel';
    const a = await unaryRetrying(n1!.lock, 'Lock', { name: Buffer.from(name), lease: await newLease() });
    const abort = new AbortController();
    const waiting = unary(
      n3!.lock,
      'Lock',
      { name: Buffer.from(name), lease: await newLease() },
      abort.signal,
    );
    await until(async () => (await keysUnder(n1!.kv, `${name}/`)).length === 2, 'the waiter in line');
    abort.abort();
    expect((await failure(waiting)).code).toBe(grpc.status.CANCELLED);
    await until(
      async () => (await keysUnder(n1!.kv, `${name}/`)).length === 1,
      'the waiter leaving the line',
    );
    await unaryRetrying(n1!.lock, 'Unlock', { key: a.key });
    const c = await unaryRetrying(n3!.lock, 'Lock', { name: Buffer.from(name), lease: await newLease() });
    expect(c.key.toString().startsWith(`${name}/`)).toBe(true);
  });

  test("an empty name is refused with etcd's InvalidArgument", async () => {
    const f = await failure(unary(members[0]!.lock, 'Lock', { name: Buffer.alloc(0), lease: 1 }));
    expect(f).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' });
    const e = await failure(unary(members[0]!.election, 'Campaign', { name: Buffer.alloc(0), lease: 1 }));
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('Election service on a real cluster', () => {
  test('one leader at a time; Leader reports it; Observe sees the proclaimed value and the next leader', async () => {
    const [n1, n2, n3] = members;
    const name = Buffer.from('svc/settlement');
    const none = await failure(unary(n1!.election, 'Leader', { name }));
    expect(none).toEqual({ code: grpc.status.UNKNOWN, details: 'election: no leader' });

    const observed: string[] = [];
    const stream = (n3!.election as Wire).Observe({ name }) as grpc.ClientReadableStream<Wire>;
    stream.on('data', (r: Wire) => observed.push(`${r.kv.key.toString()}=${r.kv.value.toString()}`));
    stream.on('error', () => {});

    const la = await newLease();
    const a = await unaryRetrying(n1!.election, 'Campaign', { name, lease: la, value: Buffer.from('a1') });
    expect(a.leader.key.toString()).toBe(`svc/settlement/${la.toString(16)}`);
    const lb = await newLease();
    const second = tracked(
      unaryRetrying(n2!.election, 'Campaign', { name, lease: lb, value: Buffer.from('b1') }),
    );
    await until(
      async () => (await keysUnder(n1!.kv, 'svc/settlement/')).length === 2,
      'the second candidate',
    );
    expect(second.done).toBe(false);
    expect((await unaryRetrying(n2!.election, 'Leader', { name })).kv.value.toString()).toBe('a1');

    await unaryRetrying(n1!.election, 'Proclaim', { leader: a.leader, value: Buffer.from('a2') });
    await until(async () => observed.length >= 2, 'Observe to see the proclaimed value');
    await unaryRetrying(n1!.election, 'Resign', { leader: a.leader });
    const b = await second.promise;
    expect(b.leader.rev).toBeGreaterThan(a.leader.rev);
    expect((await unaryRetrying(n3!.election, 'Leader', { name })).kv.value.toString()).toBe('b1');
    await until(async () => observed.length >= 3, 'Observe to see the next leader');
    const keyA = `svc/settlement/${la.toString(16)}`;
    const keyB = `svc/settlement/${lb.toString(16)}`;
    expect(observed).toEqual([`${keyA}=a1`, `${keyA}=a2`, `${keyB}=b1`]);

    const stale = await failure(
      unary(n1!.election, 'Proclaim', { leader: a.leader, value: Buffer.from('x') }),
    );
    expect(stale).toEqual({ code: grpc.status.UNKNOWN, details: 'election: not leader' });
    const missing = await failure(unary(n1!.election, 'Proclaim', { value: Buffer.from('x') }));
    expect(missing.details).toBe('"leader" field must be provided');
    stream.cancel();
    await unaryRetrying(n2!.election, 'Resign', { leader: b.leader });
  });
});
