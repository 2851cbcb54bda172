/**
 * Proves the SDK's core against a real three-member cluster: KV and the fluent transaction
 * builder return what the store holds; typed errors carry the server's stable codes; a dead
 * endpoint in the list is failed over; a watch resumes across the SIGKILL of the member it
 * streams from with no event lost or repeated; a compacted resume point fails clearly; a
 * kept lease outlives its TTL and a leader kill, and reports `lost` once when revoked
 * elsewhere; a session's close revokes its lease; Client.close() ends its watches, revokes its
 * sessions, deregisters its instances and fails a call in flight and any later call with
 * CANCELLED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import { ClientError, ErrorCode } from '../../src/client/errors.js';
import { op } from '../../src/client/kv-ops.js';
import type { WatchEvent } from '../../src/client/watch.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/ports.js';
import { restartAndWait } from '../support/restart.js';

let cluster: TestCluster;
let client: Client;

beforeAll(async () => {
  cluster = await TestCluster.start();
  await cluster.leaderName();
  client = new Client({ endpoints: cluster.endpoints(), deadlineMs: 8000 });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

describe('KV and transactions', () => {
  it('puts, gets by key and prefix, and deletes with previous values', async () => {
    const put = await client.kv.put('acct/1', 'alice', { prevKv: true });
    expect(put.prevKv).toBeUndefined();
    const again = await client.kv.put('acct/1', 'alice2', { prevKv: true });
    expect(again.revision).toBe(put.revision + 1);
    expect(again.prevKv?.value.toString()).toBe('alice');
    await client.kv.put('acct/2', 'bob');
    await client.kv.put('acct0', 'outside');
    const all = await client.kv.get('acct/', { prefix: true });
    expect(all.kvs.map((kv) => kv.key.toString())).toEqual(['acct/1', 'acct/2']);
    expect(all.count).toBe(2);
    expect(await client.kv.getText('acct/1')).toBe('alice2');
    expect((await client.kv.getOne('acct/1'))?.version).toBe(2);
    const del = await client.kv.delete('acct/', { prefix: true, prevKv: true });
    expect(del.deleted).toBe(2);
    expect(del.prevKvs.map((kv) => kv.value.toString()).sort()).toEqual(['alice2', 'bob']);
    expect(await client.kv.getText('acct/1')).toBeUndefined();
  });

  it('runs the success branch only when every comparison holds', async () => {
    const created = await client.kv
      .txn()
      .if('txn/k')
      .version('==', 0)
      .success(op.put('txn/k', 'v1'), op.get('txn/k'))
      .failure(op.get('txn/k'))
      .commit();
    expect(created.succeeded).toBe(true);
    expect(created.responses.map((r) => r.kind)).toEqual(['put', 'get']);
    const second = await client.kv
      .txn()
      .if('txn/k')
      .version('==', 0)
      .success(op.put('txn/k', 'v2'))
      .failure(op.get('txn/k'))
      .commit();
    expect(second.succeeded).toBe(false);
    const read = second.responses[0];
    expect(read?.kind === 'get' && read.kvs[0]?.value.toString()).toBe('v1');
    const cas = await client.kv
      .txn()
      .if('txn/k')
      .value('==', 'v1')
      .if('txn/k')
      .modRevision('==', created.revision)
      .success(op.put('txn/k', 'v3'))
      .commit();
    expect(cas.succeeded).toBe(true);
    expect(await client.kv.getText('txn/k')).toBe('v3');
  });

  it('reports the server error as a typed code, and does not retry a bad request', async () => {
    const err = await client.leases.revoke(0x7ead).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe(ErrorCode.LEASE_NOT_FOUND);
    expect((err as ClientError).message).toBe('etcdserver: requested lease not found');
    const empty = await client.kv.put('', 'x').catch((e: unknown) => e);
    expect((empty as ClientError).code).toBe(ErrorCode.EMPTY_KEY);
    expect((empty as ClientError).retriable).toBe(false);
  });

  it('fails over from an endpoint nobody listens on', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    // random 0 puts the dead endpoint first.
    const c = new Client({ endpoints: [dead, ...cluster.endpoints()], random: () => 0 });
    try {
      expect(c.connection.currentAddress).toBe(dead);
      await c.kv.put('failover/k', 'v');
      expect(await c.kv.getText('failover/k')).toBe('v');
      expect(c.connection.currentAddress).not.toBe(dead);
    } finally {
      await c.close();
    }
  });

  it('gives up on no reachable endpoint with CONNECTION_FAILED', async () => {
    const c = new Client({ endpoints: [`127.0.0.1:${await freePort()}`], deadlineMs: 1500 });
    try {
      const err = await c.kv.get('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect([ErrorCode.CONNECTION_FAILED, ErrorCode.TIMEOUT]).toContain((err as ClientError).code);
    } finally {
      await c.close();
    }
  });
});

describe('watch', () => {
  it('resumes across the SIGKILL of the member it streams from, losing and repeating nothing', async () => {
    const leader = await cluster.leaderName();
    const follower = cluster.topology.members.find((m) => m.name !== leader)!.name;
    const onFollower = new Client({ endpoints: cluster.endpoints([follower, leader]), random: () => 0 });
    const writer = new Client({ endpoints: cluster.endpoints([leader]) });
    try {
      const watcher = onFollower.watch('w/', { prefix: true });
      await watcher.ready();
      const seen: WatchEvent[] = [];
      const consumed = (async () => {
        for await (const e of watcher) {
          seen.push(e);
          if (seen.length === 40) break;
        }
      })();
      for (let i = 0; i < 20; i++) await writer.kv.put(`w/${i}`, `v${i}`);
      await eventually(async () => expect(seen.length).toBe(20));
      await cluster.kill(follower);
      for (let i = 20; i < 40; i++) await writer.kv.put(`w/${i}`, `v${i}`);
      await consumed;
      expect(seen.map((e) => e.kv.key.toString())).toEqual(Array.from({ length: 40 }, (_, i) => `w/${i}`));
      const revisions = seen.map((e) => e.kv.modRevision);
      expect(new Set(revisions).size).toBe(40);
      expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
    } finally {
      await onFollower.close();
      await writer.close();
      await restartAndWait(cluster, follower);
    }
  }, 60_000);

  it('fails with COMPACTED and the compaction revision when history is gone', async () => {
    const first = await client.kv.put('c/k', '1');
    await client.kv.put('c/k', '2');
    const last = await client.kv.put('c/k', '3');
    await client.kv.compact(last.revision);
    // The compaction is applied on every member, but not at the same instant: a watch served
    // by a member that has not applied it yet still replays the old history (as in etcd), so
    // a watch is tried again until it meets the compaction, which it must do.
    await eventually(async () => {
      const watcher = client.watch('c/k', { startRevision: first.revision });
      const err = await (async () => {
        for await (const _ of watcher) return undefined;
        return undefined;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).code).toBe(ErrorCode.COMPACTED);
      expect((err as ClientError).compactRevision).toBe(last.revision);
    });
  });
});

describe('leases and sessions', () => {
  it('keeps a lease alive past its TTL and through a leader kill', async () => {
    // A TTL longer than a failover: the client counts a lease lost when a renewal has not
    // got through within the TTL, whatever the cluster did meanwhile.
    const lease = await client.lease(4);
    await client.kv.put('lease/k', 'v', { lease: lease.id });
    const lost: string[] = [];
    lease.on('lost', (reason) => lost.push(reason));
    const leader = await cluster.leaderName();
    await cluster.kill(leader);
    await new Promise((r) => setTimeout(r, 6000));
    await eventually(async () => expect(await client.kv.getText('lease/k')).toBe('v'));
    expect(lost).toEqual([]);
    expect((await lease.timeToLive()).ttlSeconds).toBeGreaterThan(0);
    await restartAndWait(cluster, leader);
    await lease.revoke();
    expect(await client.kv.getText('lease/k')).toBeUndefined();
  }, 60_000);

  it('emits lost once when the lease is revoked by someone else', async () => {
    const lease = await client.lease(5);
    const other = new Client({ endpoints: cluster.endpoints() });
    try {
      const reasons: string[] = [];
      lease.on('lost', (reason) => reasons.push(reason));
      await other.leases.revoke(lease.id);
      await eventually(async () => expect(reasons).toEqual(['revoked-or-expired-on-cluster']), 10_000);
      expect(lease.isLost).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('revokes the session lease on close, deleting its keys', async () => {
    const session = await client.session({ ttlSeconds: 30 });
    await client.kv.put('session/k', 'v', { lease: session.leaseId });
    await session.close();
    expect(await session.done).toBe('closed');
    expect(await client.kv.getText('session/k')).toBeUndefined();
    expect((await client.leases.timeToLive(session.leaseId)).ttlSeconds).toBe(-1);
  });
});

describe('clean shutdown', () => {
  it('close() ends watches, revokes sessions, deregisters instances, and fails calls in flight and after', async () => {
    const c = new Client({ endpoints: cluster.endpoints() });
    const holder = await client.lock('shutdown/lock');
    try {
      const session = await c.session({ ttlSeconds: 60 });
      await c.kv.put('shutdown/session-key', 'v', { lease: session.leaseId });
      const reg = await c.registry.register({ service: 'shutdown-svc', id: 'a', address: '10.0.0.1:7000' });
      const watcher = c.watch('shutdown/', { prefix: true });
      await watcher.ready();
      const watchEnd = (async () => {
        for await (const _ of watcher) {
          // events until the client closes
        }
        return 'ended';
      })().catch((e: unknown) => e);
      // A call in flight: waiting for a lock another client holds.
      const waiting = c.lock('shutdown/lock').catch((e: unknown) => e);
      const [waiter] = await eventually(async () => {
        const line = (await client.locks.describe('shutdown/lock')).waiters;
        expect(line).toHaveLength(1);
        return line;
      });

      await c.close();

      expect(await watchEnd).toBe('ended');
      const inFlight = await waiting;
      expect(inFlight).toBeInstanceOf(ClientError);
      expect((inFlight as ClientError).code).toBe(ErrorCode.CANCELLED);
      const after = await c.kv.get('shutdown/session-key').catch((e: unknown) => e);
      expect((after as ClientError).code).toBe(ErrorCode.CANCELLED);
      // What it held in the cluster is gone: the session's lease and key, the instance.
      expect(await client.kv.getText('shutdown/session-key')).toBeUndefined();
      expect((await client.leases.timeToLive(session.leaseId)).ttlSeconds).toBe(-1);
      const gone = await client.registry.get('shutdown-svc', 'a').catch((e: unknown) => e);
      expect((gone as ClientError).code).toBe(ErrorCode.INSTANCE_NOT_FOUND);
      expect((await client.leases.timeToLive(reg.lease.id)).ttlSeconds).toBe(-1);
      // The waiter left the line, and the lease it waited on is gone with it.
      await eventually(async () =>
        expect((await client.locks.describe('shutdown/lock')).waiters).toEqual([]),
      );
      expect((await client.leases.timeToLive(waiter?.lease as number)).ttlSeconds).toBe(-1);
    } finally {
      await holder.release();
    }
  }, 60_000);
});
