/**
 * Proves the SDK's leader-aware routing on a real three-member cluster: a Client given every
 * endpoint with a follower first (and that follower as the member its reads go to) sends its
 * writes to the leader, and keeps doing so after leadership moves (another client's
 * MoveLeader) and after the leader is SIGKILLed. Where each call landed is read from each
 * member's own count of the calls it served (grpc_server_handled_total on its metrics
 * listener): a write sent to a follower is counted there, even though the follower then
 * forwards it, so routing that ignored the leader would show the writes on the follower.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import { op } from '../../src/client/kv-ops.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';

let cluster: TestCluster;
const clients: Client[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start(undefined, { metrics: true });
  // Every member must know the leader: a follower that does not yet answers a linearizable
  // read with "no leader", and the client rightly moves its reads elsewhere.
  await cluster.agreedLeaderName();
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.stop();
});

const WRITE_METHODS = ['Put', 'DeleteRange', 'Txn'] as const;

/** The sum of one family's samples whose labels include all of `labels`. */
function total(text: string, family: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== family) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Calls each member served, by kind: KV writes (Put, DeleteRange, Txn) and Range. */
async function served(names: readonly string[]): Promise<Map<string, { writes: number; ranges: number }>> {
  const out = new Map<string, { writes: number; ranges: number }>();
  for (const name of names) {
    const text = await (await fetch(`${cluster.member(name).metricsUrl}/metrics`)).text();
    const count = (method: string) =>
      total(text, 'grpc_server_handled_total', { grpc_service: 'etcdserverpb.KV', grpc_method: method });
    out.set(name, { writes: WRITE_METHODS.reduce((s, m) => s + count(m), 0), ranges: count('Range') });
  }
  return out;
}

/** A client of these members, in this order, whose reads go to the first (random 0). */
function clientOf(names: readonly string[]): Client {
  const c = new Client({ endpoints: cluster.endpoints(names), random: () => 0, deadlineMs: 10_000 });
  clients.push(c);
  expect(c.connection.currentAddress).toBe(address(names[0] as string));
  return c;
}

function address(name: string): string {
  return cluster.endpoints([name])[0] as string;
}

/** Writes until the client has learnt that `leader` leads (its first writes may go anywhere). */
async function learnLeader(c: Client, leader: string): Promise<void> {
  await eventually(async () => {
    await c.kv.put('routing/warm', 'x', { idempotent: true });
    expect(c.connection.knownLeaderAddress).toBe(address(leader));
  }, 30_000);
}

/**
 * Sends `n` puts, deletes and writing txns plus `n` reads through `c`, and proves every write
 * was served by `leader` and none by the other live members; reads stay on `readsOn`.
 */
async function expectWritesOn(
  c: Client,
  live: readonly string[],
  leader: string,
  readsOn: string,
): Promise<void> {
  const n = 5;
  const before = await served(live);
  for (let i = 0; i < n; i++) {
    await c.kv.put(`routing/${i}`, `v${i}`);
    await c.kv.delete(`routing/${i}`);
    await c.kv
      .txn()
      .success(op.put(`routing/t${i}`, 'v'))
      .commit();
    await c.kv.get(`routing/${i}`);
  }
  const after = await served(live);
  for (const name of live) {
    const writes = (after.get(name)?.writes ?? 0) - (before.get(name)?.writes ?? 0);
    const ranges = (after.get(name)?.ranges ?? 0) - (before.get(name)?.ranges ?? 0);
    expect({ name, writes }).toEqual({ name, writes: name === leader ? 3 * n : 0 });
    expect({ name, ranges }).toEqual({ name, ranges: name === readsOn ? n : 0 });
  }
}

describe('leader-aware routing', () => {
  let leader: string;
  let followers: string[];

  it('sends writes to the leader when a follower is the first endpoint and serves the reads', async () => {
    leader = await cluster.agreedLeaderName();
    followers = cluster.topology.members.map((m) => m.name).filter((n) => n !== leader);
    const [first, second] = followers as [string, string];
    const c = clientOf([first, leader, second]);
    await learnLeader(c, leader);
    await expectWritesOn(c, [first, leader, second], leader, first);
  }, 60_000);

  it('follows a leadership move made by another client', async () => {
    const [first, second] = followers as [string, string];
    const c = clients[0] as Client;
    const admin = new Client({ endpoints: cluster.endpoints() });
    clients.push(admin);
    const target = (await admin.cluster.list()).find((m) => m.name === second);
    await admin.maintenance.moveLeader(target?.id as number);
    await eventually(async () => expect(await cluster.agreedLeaderName()).toBe(second), 30_000);
    // The old leader still accepts writes (it forwards them): only the SDK's own
    // bookkeeping can notice that it no longer leads.
    await learnLeader(c, second);
    await expectWritesOn(c, [first, leader, second], second, first);
    leader = second;
  }, 60_000);

  it('follows the new leader after the leader is SIGKILLed', async () => {
    const others = cluster.topology.members.map((m) => m.name).filter((n) => n !== leader) as [
      string,
      string,
    ];
    // Two clients that both know the current leader, each reading from a different survivor,
    // so one of them reads from a member that will not lead: its writes can only reach the
    // new leader by routing.
    const a = clientOf([others[0], others[1], leader]);
    const b = clientOf([others[1], others[0], leader]);
    await learnLeader(a, leader);
    await learnLeader(b, leader);
    await cluster.kill(leader);
    const next = await cluster.agreedLeaderName();
    for (const c of [a, b]) await learnLeader(c, next);
    const notLeading = others[0] === next ? b : a;
    const readsOn = others[0] === next ? others[1] : others[0];
    await expectWritesOn(notLeading, others, next, readsOn);
  }, 90_000);
});
