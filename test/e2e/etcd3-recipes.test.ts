/**
 * Proves the etcd3 npm package's own lock and election recipes work unchanged against a real
 * three-member Cairn cluster, also across the SIGKILL of the leader: a lock held by one
 * client refuses a second client before and after the kill (etcd3 1.x locks are try-locks),
 * and the second gets it (with a larger fencing token, the key's create revision) once the
 * first releases; an election (on the restarted cluster) has one leader, a second campaign
 * waits, and observers see proclaimed values and the hand-over on resign. Every wait is
 * bounded; nothing here measures speed.
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/etcdctl.js';

let cluster: TestCluster;
const clients: Etcd3[] = [];

function client(): Etcd3 {
  const c = cluster.client();
  clients.push(c);
  return c;
}

/** Whether a promise settles within ms (used only to show a campaign is still waiting). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}

describe('the etcd3 package recipes against a Cairn cluster', () => {
  beforeAll(async () => {
    cluster = await TestCluster.start();
    await cluster.leaderName();
    await eventually(() => client().put('ready').value('1').exec());
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  test('a lock (etcd3 1.x: a try-lock on one key) refuses a second holder across a leader kill, then passes on with a larger fencing token', async () => {
    const a = client();
    const b = client();
    const first = a.lock('etcd3-lock').ttl(5);
    await first.acquire();
    const token = async (c: Etcd3) => Number((await c.get('etcd3-lock').exec()).kvs[0]?.create_revision ?? 0);
    const firstToken = await token(a);
    expect(firstToken).toBeGreaterThan(0);

    await expect(b.lock('etcd3-lock').ttl(5).acquire()).rejects.toThrow(/Failed to acquire a lock/);
    await cluster.kill(await cluster.leaderName());
    // Longer than the TTL: the first holder's lease is kept alive through the new leader.
    await new Promise((r) => setTimeout(r, 6000));
    await eventually(async () => {
      const err = await b
        .lock('etcd3-lock')
        .ttl(5)
        .acquire()
        .then(
          () => undefined,
          (e: Error) => e,
        );
      // Retry only errors of the leader change itself; an acquired lock fails the test below.
      if (err && !/Failed to acquire a lock/.test(err.message)) throw err;
      expect(err?.message).toMatch(/Failed to acquire a lock/);
    });
    expect(await eventually(() => token(a))).toBe(firstToken);

    await eventually(() => first.release());
    const second = b.lock('etcd3-lock').ttl(5);
    await eventually(() => second.acquire());
    expect(await token(b)).toBeGreaterThan(firstToken);
    await second.release();
  }, 60_000);

  test('an election has one leader; observers see proclaims and the hand-over', async () => {
    for (const m of cluster.topology.members) if (!cluster.processes.has(m.name)) cluster.startMember(m);
    await cluster.leaderName();
    const a = client();
    const b = client();
    const watcherClient = client();
    const electionA = a.election('etcd3-election', 5);
    const electionB = b.election('etcd3-election', 5);
    const campaignA = electionA.campaign('alpha');
    await campaignA.wait();
    expect(await electionB.leader()).toBe('alpha');

    const observer = await watcherClient.election('etcd3-election', 5).observe();
    const seen: (string | undefined)[] = [];
    observer.on('change', (v) => seen.push(v));

    const campaignB = electionB.campaign('beta');
    const electedB = new Promise<void>((resolve) => campaignB.on('elected', () => resolve()));
    expect(await settlesWithin(electedB, 1000)).toBe(false);

    await campaignA.proclaim('alpha-2');
    await eventually(async () => {
      if (!seen.includes('alpha-2')) throw new Error('proclaim not observed yet');
    });
    await campaignA.resign();
    await electedB;
    expect(await electionA.leader()).toBe('beta');
    await eventually(async () => {
      if (seen.at(-1) !== 'beta') throw new Error(`observer saw ${JSON.stringify(seen)}`);
    });
    await observer.cancel();
    await campaignB.resign();
  }, 60_000);
});
