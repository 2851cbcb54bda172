/**
 * Proves etcd's `hasleader` contract for watches on a real cluster: a member left alone
 * (its two peers SIGKILLed, so it has no leader) ends the watch streams that asked for a
 * leader with UNAVAILABLE "etcdserver: no leader", refuses new ones the same way, and keeps
 * serving the streams that did not ask.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdServices } from '../../src/common/proto-loader.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start();
  await cluster.leaderName();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

type Outcome = { status: grpc.status; details: string } | 'open';

function openWatch(
  target: string,
  requireLeader: boolean,
): { outcome: Promise<Outcome>; created: Promise<void>; close(): void } {
  const client = new (etcdServices().Watch)(target, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (requireLeader) metadata.set('hasleader', 'true');
  const call = (
    client as unknown as { Watch(m: grpc.Metadata): grpc.ClientDuplexStream<unknown, { created?: boolean }> }
  ).Watch(metadata);
  let settle: (o: Outcome) => void = () => undefined;
  const outcome = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });
  const created = new Promise<void>((resolve, reject) => {
    call.on('data', (r) => r.created && resolve());
    call.on('error', (e: grpc.ServiceError) => {
      settle({ status: e.code, details: e.details });
      reject(e);
    });
  });
  created.catch(() => undefined);
  call.write({ create_request: { key: Buffer.from('hl/k'), range_end: Buffer.alloc(0) } });
  return {
    outcome,
    created,
    close: () => {
      settle('open');
      call.cancel();
      client.close();
    },
  };
}

it('ends and refuses hasleader watches on a member without a leader, and keeps the others', async () => {
  const [alone, ...others] = cluster.topology.members.map((m) => m.name) as [string, string, string];
  const target = cluster.endpoints([alone])[0] as string;
  // The member itself must know the leader before it accepts a hasleader watch.
  const needsLeader = await eventually(async () => {
    const w = openWatch(target, true);
    try {
      await w.created;
      return w;
    } catch (err) {
      w.close();
      throw err;
    }
  });
  const plain = openWatch(target, false);
  await plain.created;
  for (const name of others) await cluster.kill(name);
  const ended = await needsLeader.outcome;
  expect(ended).toEqual({ status: grpc.status.UNAVAILABLE, details: 'etcdserver: no leader' });
  const refused = openWatch(target, true);
  expect(await refused.outcome).toEqual({
    status: grpc.status.UNAVAILABLE,
    details: 'etcdserver: no leader',
  });
  // The plain stream is still open: nothing ended it.
  const stillOpen = await Promise.race([
    plain.outcome,
    new Promise<Outcome>((r) => setTimeout(() => r('open'), 200)),
  ]);
  expect(stillOpen).toBe('open');
  plain.close();
  refused.close();
  needsLeader.close();
}, 60_000);
