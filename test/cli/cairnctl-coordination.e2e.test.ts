/**
 * Proves cairnctl's coordination commands work end to end over the SDK: the real CLI runs as
 * child processes (some in the background, stopped with SIGINT as Ctrl-C would) against a
 * real three-member TestCluster. lock hands CMD a fencing token that grows from one run to
 * the next and shows its holder in lock describe while held; elect --listen sees the leader a
 * background `elect NAME VALUE` set and the next one after it resigns; a background
 * `members register` shows up SERVING in members list and members watch (table and JSON), and is gone once
 * stopped; txn-records get/list/watch show a transaction begun and decided through the SDK,
 * and get of an unknown id exits 3; a background `lease keep-alive` keeps a 6 s lease past
 * its TTL and exits 3 with a message when the lease is revoked elsewhere. The tests are
 * independent and run concurrently.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import type { TestCluster } from '../support/cluster.js';
import { type BackgroundCli, cairnctl, clusterForCli, startCairnctl } from './run-cli.js';

let cluster: TestCluster;
let env: Record<string, string>;
let client: Client;
const children = new Set<BackgroundCli>();

beforeAll(async () => {
  ({ cluster, env } = await clusterForCli());
  client = new Client({ endpoints: cluster.endpoints() });
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all([...children].map((c) => c.exited));
  await client?.close();
  await cluster?.stop();
});

function run(args: string[]) {
  return cairnctl(['--command-timeout', '15s', ...args], { env });
}

function background(args: string[]): BackgroundCli {
  const c = startCairnctl(['--command-timeout', '15s', ...args], { env });
  children.add(c);
  return c;
}

/** Runs `args` until its exit code is `code` (state another process sets, seen eventually). */
async function until(args: string[], code: number, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await run(args);
    if (r.code === code || Date.now() > end) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const PRINT_TOKEN =
  'console.log("token=" + process.env.CAIRN_FENCING_TOKEN + " key=" + process.env.CAIRN_LOCK_KEY)';

describe.concurrent('cairnctl coordination commands', { timeout: 60_000 }, () => {
  it('lock runs CMD with a fencing token that grows from one holder to the next', async () => {
    const first = await run(['lock', 'cli2/lock-a', '--', process.execPath, '-e', PRINT_TOKEN]);
    const second = await run(['lock', 'cli2/lock-a', '--', process.execPath, '-e', PRINT_TOKEN]);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    const t1 = Number(/token=(\d+)/.exec(first.stdout)?.[1]);
    const t2 = Number(/token=(\d+)/.exec(second.stdout)?.[1]);
    expect(t1).toBeGreaterThan(0);
    expect(t2).toBeGreaterThan(t1);
    expect(first.stdout).toMatch(/key=cli2\/lock-a\/[0-9a-f]+/);
    // Released on exit: nobody holds it.
    expect((await run(['lock', 'describe', 'cli2/lock-a'])).code).toBe(3);
  });

  it('lock describe and lock list show the holder while `lock NAME -- sleep` runs', async () => {
    const holder = background(['lock', 'cli2/lock-b', '--owner', 'cli2-test', '--', 'sleep', '30']);
    const held = await until(['lock', 'describe', 'cli2/lock-b', '-o', 'json'], 0);
    expect(held.code).toBe(0);
    const d = JSON.parse(held.stdout);
    expect(d).toMatchObject({ name: 'cli2/lock-b', held: true, holder: { owner: 'cli2-test' } });
    expect(d.holder.fencing_token).toBeGreaterThan(0);
    const table = await run(['lock', 'describe', 'cli2/lock-b']);
    expect(table.stdout).toMatch(/^holder +cli2\/lock-b\/[0-9a-f]+ +cli2-test /m);
    const list = await run(['lock', 'list', 'cli2/lock-b', '-o', 'json']);
    expect(JSON.parse(list.stdout).locks).toEqual([
      { name: 'cli2/lock-b', owner: 'cli2-test', fencing_token: d.holder.fencing_token, waiters: 0 },
    ]);
    const listTable = (await run(['lock', 'list', 'cli2/lock-b'])).stdout.trim().split('\n');
    expect(listTable[0]).toMatch(/^NAME +OWNER +TOKEN +WAITERS$/);
    expect(listTable.slice(1).map((l) => l.split(/ +/))).toEqual([
      ['cli2/lock-b', 'cli2-test', String(d.holder.fencing_token), '0'],
    ]);
    // Ctrl-C reaches sleep (exit by SIGINT: 130) and the lock is released.
    const stopped = await holder.stop();
    expect(stopped.code).toBe(130);
    expect((await run(['lock', 'describe', 'cli2/lock-b'])).code).toBe(3);
  });

  it('elect --listen sees the leader a background `elect NAME VALUE` set, then its successor', async () => {
    const listener = background(['elect', 'cli2/elect', '--listen', '-o', 'json', '--count', '2']);
    const a = background(['elect', 'cli2/elect', 'alpha']);
    await a.waitFor(/^elected: cli2\/elect\/[0-9a-f]+ \(rev \d+\) leads with "alpha"/m);
    await listener.waitFor(/"value":"alpha"/);
    const b = background(['elect', 'cli2/elect', 'beta', '-o', 'json']);
    // b waits in line behind a; a's Ctrl-C resigns, and b leads.
    const aDone = await a.stop();
    expect(aDone.code).toBe(0);
    const elected = JSON.parse((await b.waitFor(/^\{.*\}$/m))[0]);
    expect(elected).toMatchObject({ name: 'cli2/elect', elected: true, value: 'beta' });
    const heard = await listener.exited;
    expect(heard.code).toBe(0);
    const seen = heard.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(seen.map((s) => s.value)).toEqual(['alpha', 'beta']);
    expect(seen[1].rev).toBeGreaterThan(seen[0].rev);
    expect(seen[1].key).toBe(elected.key);
    expect((await b.stop()).code).toBe(0);
  });

  it('members register shows up SERVING in members list and members watch, and leaves on Ctrl-C', async () => {
    const service = `cli2-svc-${randomUUID().slice(0, 8)}`;
    const watcher = background(['members', 'watch', service, '-o', 'json', '--count', '2']);
    const tableWatcher = background(['members', 'watch', service, '--count', '2']);
    await watcher.waitFor(/"instances":\[\]/);
    await tableWatcher.waitFor(/^-- revision \d+: 0 instances\n.*REGISTERED_REV$/m);
    const reg = background([
      'members',
      'register',
      service,
      'i-1',
      '10.0.0.1:7000',
      '--weight',
      '3',
      '--zone',
      'z-a',
    ]);
    await reg.waitFor(/^registered /m);
    const [table, json] = await Promise.all([
      run(['members', 'list', service]),
      run(['members', 'list', service, '-o', 'json']),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID +ADDRESS +STATE +WEIGHT +ZONE +LOAD +LEASE +REGISTERED_REV$/);
    expect(lines[1]?.split(/ +/).slice(0, 5)).toEqual(['i-1', '10.0.0.1:7000', 'SERVING', '3', 'z-a']);
    expect(JSON.parse(json.stdout).instances).toMatchObject([
      { service, id: 'i-1', address: '10.0.0.1:7000', state: 'SERVING', weight: 3, zone: 'z-a' },
    ]);
    const watched = await watcher.exited;
    expect(watched.code).toBe(0);
    const views = watched.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(views).toHaveLength(2);
    expect(views[1].instances).toMatchObject([{ id: 'i-1', state: 'SERVING' }]);
    // The table form: a revision line and a table per view, the empty one included.
    const tableViews = await tableWatcher.exited;
    expect(tableViews.code).toBe(0);
    const watchedLines = tableViews.stdout.trim().split('\n');
    const header = /^ID +ADDRESS +STATE +WEIGHT +ZONE +LOAD +LEASE +REGISTERED_REV$/;
    expect(watchedLines).toHaveLength(5);
    expect(watchedLines[0]).toMatch(/^-- revision \d+: 0 instances$/);
    expect(watchedLines[1]).toMatch(header);
    expect(watchedLines[2]).toMatch(/^-- revision \d+: 1 instance$/);
    expect(watchedLines[3]).toMatch(header);
    expect(watchedLines[4]?.split(/ +/).slice(0, 5)).toEqual(['i-1', '10.0.0.1:7000', 'SERVING', '3', 'z-a']);
    expect((await reg.stop()).code).toBe(0);
    const after = await run(['members', 'list', service, '-o', 'json']);
    expect(JSON.parse(after.stdout).instances).toEqual([]);
  });

  it('txn-records get, list and watch show a transaction begun through the SDK; an unknown id exits 3', async () => {
    const id = `cli2-txn-${randomUUID().slice(0, 8)}`;
    const begun = await client.coordinator.begin(id, ['cli2-p1', 'cli2-p2'], {
      timeoutMs: 60_000,
      metadata: { amount: '42' },
    });
    const [get, table, unknown, list] = await Promise.all([
      run(['txn-records', 'get', id, '-o', 'json']),
      run(['txn-records', 'get', id]),
      run(['txn-records', 'get', `${id}-nope`]),
      run(['txn-records', 'list', '--participant', 'cli2-p1', '--state', 'preparing', '-o', 'json']),
    ]);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({
      txn_id: id,
      state: 'PREPARING',
      participants: ['cli2-p1', 'cli2-p2'],
      metadata: { amount: '42' },
    });
    expect(table.stdout).toMatch(/^state: +PREPARING$/m);
    expect(unknown.code).toBe(3);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).records.map((r: { txn_id: string }) => r.txn_id)).toContain(id);
    await client.coordinator.vote(id, 'cli2-p1', 'YES');
    await client.coordinator.vote(id, 'cli2-p2', 'YES');
    // Replayed from the revision of Begin: the decision is seen whenever the watch starts.
    const [watched, committed] = await Promise.all([
      run([
        'txn-records',
        'watch',
        '--txn',
        id,
        '--rev',
        String(begun.revision),
        '--count',
        '1',
        '-o',
        'json',
      ]),
      run(['txn-records', 'list', '--state', 'COMMIT']),
    ]);
    expect(watched.code).toBe(0);
    expect(JSON.parse(watched.stdout)).toMatchObject({
      txn_id: id,
      state: 'COMMIT',
      votes: { 'cli2-p1': 'YES', 'cli2-p2': 'YES' },
    });
    expect(committed.stdout).toMatch(new RegExp(`^${id} +COMMIT +cli2-p1=YES,cli2-p2=YES`, 'm'));
  });

  it('lease keep-alive keeps a short lease alive until it is revoked elsewhere, then exits 3', async () => {
    const grant = await run(['lease', 'grant', '6', '-o', 'json']);
    const id = JSON.parse(grant.stdout).id as string;
    const keeper = background(['lease', 'keep-alive', id]);
    await keeper.waitFor(new RegExp(`lease ${id} keepalived with TTL\\(6s\\)`));
    // Longer than the TTL later the lease still lives: only the keep-alive can have renewed it.
    await new Promise((r) => setTimeout(r, 7000));
    const ttl = await run(['lease', 'ttl', id, '-o', 'json']);
    expect(ttl.code).toBe(0);
    expect(JSON.parse(ttl.stdout).ttl).toBeGreaterThan(0);
    expect(keeper.stdout().match(/keepalived/g)?.length).toBeGreaterThanOrEqual(3);
    expect((await run(['lease', 'revoke', id])).code).toBe(0);
    const done = await keeper.exited;
    expect(done.code).toBe(3);
    expect(done.stderr).toContain(`lease ${id} lost`);
  });
});
