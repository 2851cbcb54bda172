/**
 * Proves Watch on a real three-member cluster with the etcd3 npm client: a watcher receives
 * puts and deletes in order (with previous values when asked); watchers on each of the
 * three members see the same events in the same order; and a watcher whose stream is on
 * the leader when the leader is SIGKILLed reconnects to another member and resumes from
 * its last revision with no lost and no repeated event, which is checked against a
 * replay of the same history from a fresh watcher afterwards.
 */
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster } from '../support/cluster.js';
import { eventually as retry } from '../support/eventually.js';

let cluster: TestCluster;
const clients: Etcd3[] = [];
const watchers: Watcher[] = [];

function client(names?: readonly string[]): Etcd3 {
  const c = cluster.client(names);
  clients.push(c);
  return c;
}

/**
 * Runs a write again while it fails with "no leader" (the member refuses it before proposing) or
 * with the etcd3 client's "circuit breaker is open" (three "no leader" answers in a row open it for
 * 5 s, and it refuses without sending): either way the write certainly did not apply (an election
 * on a loaded machine), and the event count stays exact.
 */
async function unlessNoLeader<T>(write: () => Promise<T>, deadlineMs = 20_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (!/etcdserver: no leader|circuit breaker is open/.test((err as Error).message) || Date.now() > until)
        throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function eventually(check: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An event reduced to what every observer must agree on. */
interface Seen {
  type: string;
  key: string;
  value: string;
  rev: number;
}

function seenOf(res: IWatchResponse): Seen[] {
  return res.events.map((ev) => ({
    type: String(ev.type).toUpperCase(),
    key: ev.kv.key.toString(),
    value: ev.kv.value.toString(),
    rev: Number(ev.kv.mod_revision),
  }));
}

/** Starts a watcher and records every event it delivers, in order. */
async function record(
  c: Etcd3,
  prefix: string,
  startRevision?: number,
): Promise<{ events: Seen[]; watcher: Watcher; createdOn: string[] }> {
  const events: Seen[] = [];
  const createdOn: string[] = [];
  let builder = c.watch().prefix(prefix);
  if (startRevision !== undefined) builder = builder.startRevision(String(startRevision));
  const watcher = builder.watcher();
  watcher.on('data', (res: IWatchResponse) => events.push(...seenOf(res)));
  watcher.on('connected', (res: IWatchResponse) => createdOn.push(String(res.header.member_id)));
  watchers.push(watcher);
  await new Promise<void>((resolve, reject) => {
    watcher.once('connected', () => resolve());
    watcher.once('error', reject);
  });
  return { events, watcher, createdOn };
}

/** Member id -> name, and the leader's name, as the members report them. */
async function roles(): Promise<{ leader: string; idOf: Map<string, string> }> {
  return retry(async () => {
    const idOf = new Map<string, string>();
    let leader: string | undefined;
    for (const m of cluster.topology.members) {
      if (!cluster.processes.has(m.name)) continue;
      const st = await client([m.name]).maintenance.status();
      idOf.set(m.name, String(st.header.member_id));
      if (String(st.leader) !== '0' && String(st.leader) === String(st.header.member_id)) leader = m.name;
    }
    if (!leader) throw new Error('no leader yet');
    return { leader, idOf };
  });
}

beforeAll(async () => {
  cluster = await TestCluster.start();
  await retry(() => client().put('ready').value('1').exec());
}, 60_000);

afterAll(async () => {
  for (const w of watchers) w.removeAllListeners();
  for (const c of clients) c.close();
  await cluster?.stop();
}, 60_000);

describe('Watch on a three-member cluster', () => {
  test('the etcd3 watcher receives puts and deletes in order, with previous values', async () => {
    const c = client();
    const first = await c.put('e3/a').value('0').exec();
    // From the revision after the first put: a watch created on a member that has not applied
    // that put yet would otherwise (as on etcd) start before it and see it too.
    const after = String(Number(first.header.revision) + 1);
    const watcher = await c.watch().key('e3/a').startRevision(after).withPreviousKV().create();
    watchers.push(watcher);
    const got: string[] = [];
    watcher.on('put', (kv: IKeyValue, prev?: IKeyValue) => got.push(`put ${kv.value} prev ${prev?.value}`));
    watcher.on('delete', (kv: IKeyValue, prev?: IKeyValue) =>
      got.push(`delete ${kv.key} prev ${prev?.value}`),
    );
    await c.put('e3/a').value('1').exec();
    await c.put('e3/b').value('x').exec();
    await c.put('e3/a').value('2').exec();
    await c.delete().key('e3/a').exec();
    await c.put('e3/a').value('3').exec();
    await eventually(() => got.length >= 4, 'four events');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(['put 1 prev 0', 'put 2 prev 1', 'delete e3/a prev 2', 'put 3 prev undefined']);
  });

  test('watchers on each member see the same events in the same order', async () => {
    const observers = await Promise.all(
      cluster.topology.members.map((m) => record(client([m.name]), 'same/')),
    );
    const { idOf } = await roles();
    expect(observers.map((o) => o.createdOn[0])).toEqual(
      cluster.topology.members.map((m) => idOf.get(m.name)),
    );
    // Writes through every member, some concurrent, some deletes, a multi-key delete.
    const writers = cluster.topology.members.map((m) => client([m.name]));
    await Promise.all(
      writers.map(async (w, i) => {
        for (let j = 0; j < 15; j++)
          await unlessNoLeader(() =>
            w
              .put(`same/${i}/${j % 4}`)
              .value(`${i}-${j}`)
              .exec(),
          );
      }),
    );
    await unlessNoLeader(() => writers[0]!.delete().key('same/1/0').exec());
    await unlessNoLeader(() => writers[1]!.delete().prefix('same/2/').exec());
    const last = Number(
      (await unlessNoLeader(() => writers[2]!.put('same/end').value('end').exec())).header.revision,
    );
    for (const o of observers)
      await eventually(() => o.events.at(-1)?.rev === last, 'the last write everywhere');
    // The truth: the whole history of the prefix (no earlier test writes under it), replayed from
    // the store. A write the client sent again after an answer of unknown outcome shows up twice
    // in it, as on etcd, so the comparison is with the replay rather than with a fixed count.
    const replay = await record(client([cluster.topology.members[0]!.name]), 'same/', 1);
    await eventually(() => replay.events.at(-1)?.rev === last, 'the replay to reach the last write');
    const reference = replay.events;
    for (const o of observers) expect(o.events).toEqual(reference);
    const puts = new Set(reference.filter((e) => e.type === 'PUT').map((e) => `${e.key}=${e.value}`));
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 15; j++) expect(puts).toContain(`same/${i}/${j % 4}=${i}-${j}`);
    const deletes = reference.filter((e) => e.type === 'DELETE').map((e) => e.key);
    expect(new Set(deletes)).toEqual(new Set(['same/1/0', 'same/2/0', 'same/2/1', 'same/2/2', 'same/2/3']));
    expect(reference.length).toBeGreaterThanOrEqual(45 + 1 + 4 + 1);
    const revs = reference.map((e) => e.rev);
    for (let i = 1; i < revs.length; i++) expect(revs[i]!).toBeGreaterThanOrEqual(revs[i - 1]!);
  }, 60_000);

  test('a watch on the leader survives a SIGKILL of the leader with no lost and no repeated event', async () => {
    const { leader, idOf } = await roles();
    const leaderId = idOf.get(leader)!;
    const start = Number((await client().put('kill/start').value('s').exec()).header.revision);
    // etcd3 picks an endpoint at random: open watchers until one's stream is on the leader.
    let live: Awaited<ReturnType<typeof record>> | undefined;
    for (let attempt = 0; attempt < 40 && !live; attempt++) {
      const candidate = await record(client(), 'kill/', start + 1);
      if (candidate.createdOn[0] === leaderId) live = candidate;
      else await candidate.watcher.cancel();
    }
    expect(live, 'a watcher whose stream is on the leader').toBeDefined();
    const survivors = cluster.topology.members.filter((m) => m.name !== leader).map((m) => m.name);
    const writer = client(survivors);
    let stop = false;
    let acked = 0;
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await writer
            .put(`kill/${i % 5}`)
            .value(`${i}`)
            .exec();
          acked++;
        } catch {
          await new Promise((r) => setTimeout(r, 50)); // no leader for a moment
        }
      }
    })();
    await eventually(() => acked >= 20, 'writes before the kill');
    await cluster.kill(leader, 'SIGKILL');
    const before = acked;
    await eventually(() => acked >= before + 30, 'writes after a new leader', 30_000);
    stop = true;
    await writing;
    const last = Number((await retry(() => writer.put('kill/end').value('end').exec())).header.revision);
    await eventually(() => live!.events.at(-1)?.rev === last, 'the watcher to reach the last write', 30_000);
    expect(live!.createdOn.length).toBeGreaterThan(1); // it reconnected
    expect(live!.createdOn.at(-1)).not.toBe(leaderId);
    // The truth: the same history replayed from a surviving member.
    const replay = await record(client([survivors[0]!]), 'kill/', start + 1);
    await eventually(() => replay.events.at(-1)?.rev === last, 'the replay to reach the last write');
    expect(live!.events).toEqual(replay.events);
    const revs = live!.events.map((e) => e.rev);
    expect(new Set(revs).size).toBe(revs.length);
  }, 120_000);
});
