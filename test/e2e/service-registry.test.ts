/**
 * Proves MembershipService on a real three-member cluster (the test (b)): 1,000
 * instances register through two members with 48 calls in flight, a fifth of the long-lived
 * ones turn DRAINING, some report load, a tenth are never kept alive (TTL 2 s) and a tenth
 * share a lease that is revoked. A subscriber on the leader sees all of it; the leader is
 * SIGKILLed midway, the subscriber resumes on another member from its last revision + 1, and
 * its final view must equal List(); a fresh subscription from the first revision on another
 * member must see exactly the same changes (so the resumed stream had no gap and no
 * duplicate). Then etcdctl reads the records and etcd's naming keys. Calls answered
 * UNAVAILABLE (a leader change) are repeated; Register and SetState are safe to repeat.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster } from '../support/cluster.js';
import {
  type CallError,
  type EtcdGrpc,
  etcdGrpc,
  retry,
  unary,
  until,
  type Wire,
} from '../support/etcd-grpc.js';
import { etcdctl, hasEtcdctl } from '../support/etcdctl.js';
import {
  DELETE,
  DRAINING,
  membershipClient,
  SERVING,
  type SeenChange,
  UPSERT,
  ViewSubscriber,
} from '../support/membership-grpc.js';

const INSTANCES = 1_000;
const IN_FLIGHT = 48;
const SERVICE = 'pay/api';

let cluster: TestCluster;
let etcd: Map<string, EtcdGrpc>;
let registry: Map<string, grpc.Client>;

/** What happens to instance i. */
function planOf(i: number): 'expires' | 'revoked' | 'drains' | 'serves' {
  if (i % 10 === 0) return 'expires';
  if (i % 10 === 1) return 'revoked';
  if (i % 10 === 2 || i % 10 === 7) return 'drains';
  return 'serves';
}

function addressOf(i: number): string {
  return `10.0.${i >> 8}.${i & 255}:8443`;
}

/** A call repeated while the cluster is between leaders (and, where told, while a lease is not found). */
async function call(
  client: grpc.Client,
  method: string,
  request: Wire,
  retryCodes: grpc.status[] = [],
): Promise<Wire> {
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      return await unary(client, method, request);
    } catch (err) {
      const code = (err as CallError).code;
      const retriable =
        code === grpc.status.UNAVAILABLE ||
        code === grpc.status.ABORTED ||
        code === grpc.status.DEADLINE_EXCEEDED ||
        retryCodes.includes(code);
      if (!retriable || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

beforeAll(async () => {
  cluster = await TestCluster.start();
  const names = cluster.topology.members.map((m) => m.name);
  etcd = new Map(names.map((n) => [n, etcdGrpc(cluster.member(n).clientUrl)]));
  registry = new Map(names.map((n) => [n, membershipClient(cluster.endpoints([n])[0]!)]));
  for (const m of etcd.values())
    await retry(() => unary(m.kv, 'Put', { key: Buffer.from('ready'), value: Buffer.from('1') }), 45_000);
}, 60_000);

afterAll(async () => {
  for (const c of etcd?.values() ?? []) c.close();
  for (const c of registry?.values() ?? []) c.close();
  await cluster?.stop();
}, 60_000);

describe('MembershipService on a real cluster', () => {
  const loads = new Map<string, number>();

  test('a subscriber sees every registration, state change and expiry in order across a leader kill, and converges to List()', async () => {
    const leader = await cluster.leaderName();
    const survivors = [...registry.keys()].filter((n) => n !== leader);
    const writers = survivors.map((n) => registry.get(n)!);
    const survivorEtcd = etcd.get(survivors[0]!)!;

    const sub = new ViewSubscriber(SERVICE);
    let stopping = false;
    const streamErrors: (number | undefined)[] = [];
    const subscriberLoop = (async () => {
      let target = registry.get(leader)!;
      while (!stopping && streamErrors.length < 20) {
        const err = await sub.attach(target);
        if (stopping) return;
        streamErrors.push(err?.code);
        target = registry.get(survivors[streamErrors.length % survivors.length]!)!;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await until(async () => sub.snapshotRevision > 0, 'the snapshot');
    expect(sub.view.size).toBe(0);

    const shared = Number((await call(survivorEtcd.lease, 'LeaseGrant', { TTL: 60, ID: 0 })).ID);
    let next = 0;
    let done = 0;
    let killed: Promise<void> | undefined;
    const worker = async (w: number): Promise<void> => {
      for (let i = next++; i < INSTANCES; i = next++) {
        const client = writers[(w + i) % writers.length]!;
        const plan = planOf(i);
        const id = `i${i}`;
        await call(
          client,
          'Register',
          {
            service: SERVICE,
            instance_id: id,
            address: addressOf(i),
            weight: 1 + (i % 3),
            zone: `z${i % 3}`,
            metadata: { build: String(i % 4) },
            ttl_seconds: plan === 'revoked' ? 0 : plan === 'expires' ? 2 : 60,
            lease: plan === 'revoked' ? shared : 0,
          },
          // A short lease can end while a leader change delays the Txn: register again.
          plan === 'expires' ? [grpc.status.NOT_FOUND] : [],
        );
        if (plan === 'drains')
          await call(client, 'SetState', { service: SERVICE, instance_id: id, state: DRAINING });
        if (plan === 'serves' && i % 3 === 0) {
          await call(client, 'ReportLoad', {
            service: SERVICE,
            instance_id: id,
            in_flight: i,
            cpu_utilization: 0.5,
          });
          loads.set(`${SERVICE}/${id}`, i);
        }
        done++;
        if (done === INSTANCES / 2) killed = cluster.kill(leader);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
    await killed;
    await call(survivorEtcd.lease, 'LeaseRevoke', { ID: shared });

    // Short leases end once a leader expires them; then the registry holds exactly the survivors.
    const alive = Array.from({ length: INSTANCES }, (_, i) => i).filter(
      (i) => planOf(i) === 'serves' || planOf(i) === 'drains',
    );
    let listed: Wire | undefined;
    await until(
      async () => {
        listed = await call(writers[0]!, 'List', { service: SERVICE });
        return listed.instances.length === alive.length;
      },
      'the short leases to end',
      30_000,
    );
    await until(async () => sub.lastRevision >= listed.header.revision, 'the subscriber to catch up', 30_000);
    stopping = true;
    sub.cancel();
    await subscriberLoop;

    // The stream broke when the leader died, and resumed on a survivor.
    expect(streamErrors.length).toBeGreaterThanOrEqual(1);
    expect(sub.violations).toEqual([]);
    // Its view is the registry's.
    const byId = (list: Wire[]) => new Map(list.map((i: Wire) => [`${i.service}/${i.instance_id}`, i]));
    expect(byId([...sub.view.values()])).toEqual(byId(listed.instances));
    for (const [id, inFlight] of loads) expect(sub.view.get(id)?.load?.in_flight).toBe(inFlight);

    // Every instance's history as the subscriber saw it.
    const histories = new Map<string, SeenChange[]>();
    for (const c of sub.changes) {
      const h = histories.get(c.id) ?? [];
      h.push(c);
      histories.set(c.id, h);
    }
    expect(histories.size).toBe(INSTANCES);
    for (let i = 0; i < INSTANCES; i++) {
      const h = histories.get(`${SERVICE}/i${i}`)!;
      const plan = planOf(i);
      expect(h[0]).toMatchObject({ type: UPSERT, state: SERVING });
      const last = h[h.length - 1]!;
      if (plan === 'expires' || plan === 'revoked') expect(last.type).toBe(DELETE);
      else expect(last).toMatchObject({ type: UPSERT, state: plan === 'drains' ? DRAINING : SERVING });
      if (plan === 'drains') {
        const servingAt = h.findIndex((c) => c.state === SERVING);
        const drainingAt = h.findIndex((c) => c.state === DRAINING);
        expect(drainingAt).toBeGreaterThan(servingAt);
      }
    }
    // The revoked lease ended its instances in one revision.
    const revokedAt = new Set(
      sub.changes
        .filter((c) => c.type === DELETE && planOf(Number(c.id.split('/i')[1])) === 'revoked')
        .map((c) => c.revision),
    );
    expect(revokedAt.size).toBe(1);

    // A subscription that never broke, from the same start on another member, saw the same changes.
    const fresh = new ViewSubscriber(SERVICE);
    fresh.lastRevision = sub.snapshotRevision;
    const freshEnded = fresh.attach(registry.get(survivors[1]!)!);
    await until(async () => fresh.lastRevision >= sub.lastRevision, 'the fresh subscriber');
    fresh.cancel();
    await freshEnded;
    const summary = (cs: SeenChange[]) => cs.map((c) => `${c.revision} ${c.type} ${c.id} ${c.state}`);
    expect(summary(fresh.changes)).toEqual(summary(sub.changes));
    expect(byId([...fresh.view.values()])).toEqual(byId([...sub.view.values()]));
  }, 150_000);

  test.skipIf(!hasEtcdctl)(
    'etcdctl reads the records and etcd naming keys exist for SERVING instances only',
    async () => {
      const live = [...registry.keys()].filter((n) => cluster.processes.has(n));
      const endpoints = cluster.endpoints(live);
      const listed = await call(registry.get(live[0]!)!, 'List', { service: SERVICE });
      const records = await etcdctl(endpoints, [
        'get',
        '--prefix',
        `/cairn/members/${SERVICE}/`,
        '-w',
        'json',
      ]);
      expect(records.code).toBe(0);
      const kvs = (JSON.parse(records.stdout).kvs ?? []) as { key: string; value: string; lease?: number }[];
      expect(kvs).toHaveLength(listed.instances.length);
      const decoded = kvs.map((kv) => JSON.parse(Buffer.from(kv.value, 'base64').toString()));
      expect(decoded.find((r) => r.instanceId === 'i3')).toMatchObject({
        service: SERVICE,
        instanceId: 'i3',
        address: addressOf(3),
        state: 'SERVING',
        load: { inFlight: 3, cpuUtilization: 0.5 },
      });

      const serving = listed.instances.filter((i: Wire) => i.state === SERVING);
      const naming = await etcdctl(endpoints, ['get', '--prefix', `${SERVICE}/`]);
      expect(naming.code).toBe(0);
      const lines = naming.stdout.trim().split('\n');
      expect(lines.length).toBe(2 * serving.length);
      const one = await etcdctl(endpoints, ['get', `${SERVICE}/${addressOf(3)}`, '--print-value-only']);
      expect(JSON.parse(one.stdout)).toEqual({ Addr: addressOf(3), Metadata: { build: '3' } });
      const drained = await etcdctl(endpoints, ['get', `${SERVICE}/${addressOf(2)}`, '--print-value-only']);
      expect(drained.stdout.trim()).toBe('');
    },
    60_000,
  );
});
