/**
 * Proves the three-member cluster on real processes, driven by the etcd3 npm client: a
 * write through any member is readable linearizably from every member; transactions,
 * sorted and limited ranges and deletes behave as on etcd; SIGKILL of the
 * leader during a stream of writes loses no acknowledged write, a new leader serves, and
 * the killed member rejoins and catches up; a full restart of all three keeps every
 * acknowledged write. Also that the test cluster keeps each member's recent log lines,
 * which a failed test prints (test/support/failure-logs.ts).
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster } from '../support/cluster.js';
import { eventually as retry } from '../support/eventually.js';

let cluster: TestCluster;
const clients: Etcd3[] = [];

function client(names?: readonly string[]): Etcd3 {
  const c = cluster.client(names);
  clients.push(c);
  return c;
}

/** The name of the member that leads, as the members themselves report it. */
async function leaderName(): Promise<string> {
  return retry(async () => {
    for (const m of cluster.topology.members) {
      if (!cluster.processes.has(m.name)) continue;
      const st = await client([m.name]).maintenance.status();
      if (String(st.leader) !== '0' && String(st.leader) === String(st.header.member_id)) return m.name;
    }
    throw new Error('no leader yet');
  });
}

beforeAll(async () => {
  cluster = await TestCluster.start();
  // Every member writes once: each knows the leader before the tests address members one by one
  // (a member that has not heard from a leader yet answers "no leader", as etcd's does).
  for (const m of cluster.topology.members) {
    const c = client([m.name]);
    await retry(() => c.put('ready').value(m.name).exec());
  }
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
}, 60_000);

describe('a three-member cluster', () => {
  test("keeps each member's recent log lines for a failed test's report, member by member", async () => {
    await cluster.leaderName();
    const log = cluster.recentLog();
    for (const m of cluster.topology.members) {
      const section = log.split('=== member ').find((part) => part.startsWith(`${m.name},`));
      expect(section, m.name).toBeDefined();
      expect(section).toContain(`"member":"${m.name}"`);
      expect(section).toContain('"msg":"node started"');
    }
  });

  test('a write through any member is read linearizably from every member', async () => {
    for (const m of cluster.topology.members)
      await client([m.name]).put(`via/${m.name}`).value(m.name).exec();
    for (const reader of cluster.topology.members) {
      const c = client([reader.name]);
      for (const writer of cluster.topology.members)
        expect(await c.get(`via/${writer.name}`).string()).toBe(writer.name);
    }
  });

  test('the etcd3 client: transactions, sorted and limited ranges, deletes with previous values', async () => {
    const c = client();
    await c.put('acct/a').value('100').exec();
    await c.put('acct/b').value('5').exec();
    await c.put('acct/c').value('50').exec();
    const debit = await c
      .if('acct/a', 'Value', '==', '100')
      .then(c.put('acct/a').value('90'))
      .else(c.get('acct/a'))
      .commit();
    expect(debit.succeeded).toBe(true);
    const again = await c
      .if('acct/a', 'Value', '==', '100')
      .then(c.put('acct/a').value('80'))
      .else(c.get('acct/a'))
      .commit();
    expect(again.succeeded).toBe(false);
    expect(await c.get('acct/a').string()).toBe('90');
    const sorted = await c.getAll().prefix('acct/').sort('Value', 'Descend').limit(2).strings();
    // Values compare as bytes: "90" > "50" > "5".
    expect(Object.keys(sorted)).toEqual(['acct/a', 'acct/c']);
    expect(await c.getAll().prefix('acct/').count()).toBe(3);
    const del = await c.delete().prefix('acct/').getPrevious();
    expect(del.map((kv) => kv.key.toString()).sort()).toEqual(['acct/a', 'acct/b', 'acct/c']);
    expect(await c.getAll().prefix('acct/').count()).toBe(0);
  });

  test('SIGKILL of the leader loses no acknowledged write; the member rejoins and catches up', async () => {
    const victim = await leaderName();
    const writer = client();
    const acked: string[] = [];
    let stop = false;
    const stream = (async () => {
      for (let i = 0; i < 400 && !stop; i++) {
        try {
          await writer.put(`stream/${i}`).value(`${i}`).exec();
          acked.push(`stream/${i}`);
        } catch {
          // Outcome unknown for this one; only acknowledged writes count.
        }
      }
    })();
    await retry(async () => {
      if (acked.length < 20) throw new Error('waiting for writes');
    });
    await cluster.kill(victim, 'SIGKILL');
    const survivors = cluster.topology.members.filter((m) => m.name !== victim).map((m) => m.name);
    await retry(() => client(survivors).put('after-kill').value('1').exec());
    stop = true;
    await stream;
    const reader = client(survivors);
    const keys = (await reader.getAll().prefix('stream/').keys()).map(String);
    for (const k of acked) expect(keys).toContain(k);

    cluster.startMember(cluster.member(victim));
    const rejoined = client([victim]);
    await retry(async () => {
      const v = await rejoined.get('after-kill').serializable(true).string();
      if (v !== '1') throw new Error('not caught up yet');
    });
    const count = Number(await rejoined.getAll().prefix('stream/').count());
    expect(count).toBeGreaterThanOrEqual(acked.length);
  }, 90_000);

  test('a full restart of all three keeps every acknowledged write', async () => {
    const c = client();
    for (let i = 0; i < 50; i++) await c.put(`restart/${i}`).value(`${i}`).exec();
    for (const m of cluster.topology.members) await cluster.kill(m.name, 'SIGKILL');
    for (const m of cluster.topology.members) cluster.startMember(m);
    const after = client();
    const count = await retry(async () => Number(await after.getAll().prefix('restart/').count()));
    expect(count).toBe(50);
    expect(await after.get('restart/49').string()).toBe('49');
  }, 90_000);
});
