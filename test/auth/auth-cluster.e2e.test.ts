/**
 * Proves auth end to end on a real three-member TestCluster: users, roles and permissions
 * set up through the etcd3 npm package's user/role API, auth enabled, and then every
 * service — KV, Watch, Lease, Cluster, Maintenance, etcd's Lock and Election, Cairn's
 * LockService, MembershipService and CoordinatorService — refuses a caller without a
 * token, with an unknown token, or without permission on the keys, with etcd's status and
 * text, while permitted callers succeed; a token issued by one member works on another; a
 * revoked permission cancels an open watch at once; the etcd3 client authenticates with
 * username/password; repeated wrong passwords are rate-limited; and the auth state survives
 * a member's restart; the SDK's Client with `auth` authenticates, watches with its token and
 * authenticates again when a restarted member no longer knows it. Raw gRPC clients send the `token` metadata exactly as etcd clients do.
 */
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client } from '../../src/client/index.js';
import { ErrorCode } from '../../src/common/errors.js';
import { cairnService, etcdServices } from '../../src/common/proto-loader.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';

// biome-ignore lint/suspicious/noExplicitAny: wire objects and dynamic clients
type Any = any;

let cluster: TestCluster;
let admin: Etcd3;
const S = etcdServices();
const clients: grpc.Client[] = [];

function client(ctor: grpc.ServiceClientConstructor, member = 0): Any {
  const c = new ctor(cluster.endpoints()[member]!, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

function meta(token?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (token) m.set('token', token);
  return m;
}

function unary(c: Any, method: string, req: Any, token?: string): Promise<Any> {
  return new Promise((resolve, reject) =>
    c[method](req, meta(token), { deadline: Date.now() + 15_000 }, (err: Error | null, res: Any) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

const b = (s: string) => Buffer.from(s);
const prefixEnd = (p: string) => {
  const x = Buffer.from(p);
  x[x.length - 1]! += 1;
  return x;
};

const USER_EMPTY = { code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: user name is empty' };
const DENIED = { code: grpc.status.PERMISSION_DENIED, details: 'etcdserver: permission denied' };
const BAD_TOKEN = { code: grpc.status.UNAUTHENTICATED, details: 'etcdserver: invalid auth token' };
const AUTH_FAILED = {
  code: grpc.status.INVALID_ARGUMENT,
  details: 'etcdserver: authentication failed, invalid user ID or password',
};

async function token(name: string, password: string, member = 0): Promise<string> {
  const r = await unary(client(S.Auth, member), 'Authenticate', { name, password });
  return r.token as string;
}

describe('auth on a three-member cluster', () => {
  let rootToken: string;
  let aliceToken: string;
  let bobToken: string;

  beforeAll(async () => {
    cluster = await TestCluster.start();
    await cluster.leaderName();
    admin = cluster.client();
    await eventually(() => admin.put('ready').value('1').exec());
    // Set up with the etcd3 package's user and role API, auth still off.
    await admin.user('root').create('rootpw');
    await admin.user('root').addRole('root');
    const rw = await admin.role('app-rw').create();
    await rw.grant({ permission: 'Readwrite', range: admin.range({ prefix: 'app/' }) });
    await rw.grant({ permission: 'Readwrite', range: admin.range({ prefix: '/cairn/members/payments/' }) });
    await rw.grant({ permission: 'Readwrite', range: admin.range({ prefix: 'payments/' }) });
    await rw.grant({ permission: 'Readwrite', range: admin.range({ prefix: '/cairn/txn/app-' }) });
    const r = await admin.role('app-r').create();
    await r.grant({ permission: 'Read', range: admin.range({ prefix: 'app/' }) });
    await admin.user('alice').create('alicepw');
    await admin.user('alice').addRole('app-rw');
    await admin.user('bob').create('bobpw');
    await admin.user('bob').addRole('app-r');
    expect((await admin.getUsers()).map((u) => u.name).sort()).toEqual(['alice', 'bob', 'root']);
    expect(await admin.role('app-r').permissions()).toHaveLength(1);
    await admin.auth.authEnable();
    rootToken = await eventually(() => token('root', 'rootpw'));
    aliceToken = await token('alice', 'alicepw');
    bobToken = await token('bob', 'bobpw');
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    admin?.close();
    await cluster?.stop();
  }, 60_000);

  test('AuthStatus and wrong credentials answer as etcd, without telling whether the user exists', async () => {
    const auth = client(S.Auth);
    expect((await unary(auth, 'AuthStatus', {})).enabled).toBe(true);
    await expect(unary(auth, 'Authenticate', { name: 'alice', password: 'nope' })).rejects.toMatchObject(
      AUTH_FAILED,
    );
    await expect(unary(auth, 'Authenticate', { name: 'mallory', password: 'x' })).rejects.toMatchObject(
      AUTH_FAILED,
    );
    // user management needs root
    await expect(unary(auth, 'UserList', {}, aliceToken)).rejects.toMatchObject(DENIED);
    expect((await unary(auth, 'UserList', {}, rootToken)).users).toEqual(['alice', 'bob', 'root']);
    // a user may read itself
    expect((await unary(auth, 'UserGet', { name: 'alice' }, aliceToken)).roles).toEqual(['app-rw']);
    await expect(unary(auth, 'UserAdd', { name: 'alice', password: 'x' }, rootToken)).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'etcdserver: user name already exists',
    });
    await expect(unary(auth, 'RoleGet', { role: 'nope' }, rootToken)).rejects.toMatchObject({
      details: 'etcdserver: role name not found',
    });
  });

  test('KV: no token, an unknown token and a missing permission are refused; permitted calls work', async () => {
    const kv = client(S.KV);
    await expect(unary(kv, 'Range', { key: b('app/a') })).rejects.toMatchObject(USER_EMPTY);
    await expect(unary(kv, 'Range', { key: b('app/a') }, 'bogus.1')).rejects.toMatchObject(BAD_TOKEN);
    await unary(kv, 'Put', { key: b('app/a'), value: b('1') }, aliceToken);
    expect((await unary(kv, 'Range', { key: b('app/a') }, bobToken)).kvs[0].value.toString()).toBe('1');
    await expect(unary(kv, 'Put', { key: b('app/a'), value: b('2') }, bobToken)).rejects.toMatchObject(
      DENIED,
    );
    await expect(unary(kv, 'Put', { key: b('other'), value: b('2') }, aliceToken)).rejects.toMatchObject(
      DENIED,
    );
    // a range reaching past the grant, and a from-key range, are refused
    await expect(unary(kv, 'Range', { key: b('app/'), range_end: b('b') }, bobToken)).rejects.toMatchObject(
      DENIED,
    );
    await expect(
      unary(kv, 'Range', { key: b('app/'), range_end: Buffer.from([0]) }, bobToken),
    ).rejects.toMatchObject(DENIED);
    await expect(
      unary(kv, 'DeleteRange', { key: b('app/'), range_end: prefixEnd('app/') }, bobToken),
    ).rejects.toMatchObject(DENIED);
    // a Txn is checked compare by compare and op by op, in both branches
    const txn = (failureKey: string) => ({
      compare: [{ key: b('app/a'), target: 'VERSION', result: 'GREATER', version: 0 }],
      success: [{ request_put: { key: b('app/b'), value: b('x') } }],
      failure: [{ request_range: { key: b(failureKey) } }],
    });
    expect((await unary(kv, 'Txn', txn('app/c'), aliceToken)).succeeded).toBe(true);
    await expect(unary(kv, 'Txn', txn('secret'), aliceToken)).rejects.toMatchObject(DENIED);
    // root may do anything
    await unary(kv, 'Put', { key: b('other'), value: b('root') }, rootToken);
  });

  test('a token issued by one member is accepted by another', async () => {
    const t = await token('alice', 'alicepw', 1);
    const kv2 = client(S.KV, 2);
    await eventually(() => unary(kv2, 'Range', { key: b('app/a') }, t));
  });

  test('Lease: grant needs a user; revoke needs write on every key of the lease', async () => {
    const lease = client(S.Lease);
    const kv = client(S.KV);
    await expect(unary(lease, 'LeaseGrant', { TTL: 30 })).rejects.toMatchObject(USER_EMPTY);
    const g = await unary(lease, 'LeaseGrant', { TTL: 30 }, aliceToken);
    await unary(kv, 'Put', { key: b('app/leased'), value: b('v'), lease: g.ID }, aliceToken);
    await expect(unary(lease, 'LeaseRevoke', { ID: g.ID }, bobToken)).rejects.toMatchObject(DENIED);
    await unary(lease, 'LeaseRevoke', { ID: g.ID }, aliceToken);
  });

  test('Cluster and Maintenance admin calls need root; MemberList and Status do not', async () => {
    const cl = client(S.Cluster);
    const mt = client(S.Maintenance);
    expect((await unary(cl, 'MemberList', {})).members).toHaveLength(3);
    await expect(
      unary(cl, 'MemberAdd', { peerURLs: ['http://127.0.0.1:1'] }, aliceToken),
    ).rejects.toMatchObject(DENIED);
    await expect(unary(cl, 'MemberRemove', { ID: 1 })).rejects.toMatchObject(USER_EMPTY);
    expect((await unary(mt, 'Status', {})).version).toBeTruthy();
    await expect(unary(mt, 'Hash', {}, aliceToken)).rejects.toMatchObject(DENIED);
    await expect(unary(mt, 'Defragment', {})).rejects.toMatchObject(USER_EMPTY);
    expect((await unary(mt, 'HashKV', {}, rootToken)).hash).toBeTypeOf('number');
    await expect(unary(mt, 'Alarm', { action: 1, alarm: 1 }, aliceToken)).rejects.toMatchObject(DENIED);
  });

  test("etcd's Lock and Election: the caller needs permission on the lock's keys", async () => {
    const lock = client(S.Lock);
    const lease = client(S.Lease);
    const g = await unary(lease, 'LeaseGrant', { TTL: 30 }, aliceToken);
    await expect(unary(lock, 'Lock', { name: b('app/l1'), lease: g.ID })).rejects.toMatchObject(USER_EMPTY);
    await expect(unary(lock, 'Lock', { name: b('app/l1'), lease: g.ID }, bobToken)).rejects.toMatchObject(
      DENIED,
    );
    await expect(
      unary(lock, 'Lock', { name: b('secret/l1'), lease: g.ID }, aliceToken),
    ).rejects.toMatchObject(DENIED);
    const held = await unary(lock, 'Lock', { name: b('app/l1'), lease: g.ID }, aliceToken);
    expect(held.key.toString()).toMatch(/^app\/l1\//);
    await expect(unary(lock, 'Unlock', { key: held.key }, bobToken)).rejects.toMatchObject(DENIED);
    await unary(lock, 'Unlock', { key: held.key }, aliceToken);
    const election = client(S.Election);
    await expect(
      unary(election, 'Campaign', { name: b('secret/e'), lease: g.ID, value: b('me') }, aliceToken),
    ).rejects.toMatchObject(DENIED);
    await unary(election, 'Campaign', { name: b('app/e'), lease: g.ID, value: b('me') }, aliceToken);
    expect((await unary(election, 'Leader', { name: b('app/e') }, bobToken)).kv.value.toString()).toBe('me');
  });

  test("Cairn's LockService, MembershipService and CoordinatorService reach only permitted keys", async () => {
    const locks = client(cairnService('lock.proto', 'LockService'));
    await expect(unary(locks, 'TryAcquire', { name: b('app/x'), ttl_seconds: 10 })).rejects.toMatchObject(
      USER_EMPTY,
    );
    await expect(
      unary(locks, 'TryAcquire', { name: b('secret/x'), ttl_seconds: 10 }, aliceToken),
    ).rejects.toMatchObject(DENIED);
    const got = await unary(locks, 'TryAcquire', { name: b('app/x'), ttl_seconds: 10 }, aliceToken);
    expect(got.acquired).toBe(true);
    await expect(unary(locks, 'Describe', { name: b('secret/x') }, aliceToken)).rejects.toMatchObject(DENIED);

    const members = client(cairnService('membership.proto', 'MembershipService'));
    const reg = { service: 'payments', instance_id: 'i1', address: '10.0.0.1:80', ttl_seconds: 10 };
    await expect(unary(members, 'Register', reg, bobToken)).rejects.toMatchObject(DENIED);
    await expect(unary(members, 'Register', { ...reg, service: 'ledger' }, aliceToken)).rejects.toMatchObject(
      DENIED,
    );
    await unary(members, 'Register', reg, aliceToken);
    expect((await unary(members, 'List', { service: 'payments' }, aliceToken)).instances).toHaveLength(1);
    await expect(unary(members, 'List', { service: 'payments' })).rejects.toMatchObject(USER_EMPTY);

    const coord = client(cairnService('coordinator.proto', 'CoordinatorService'));
    const begin = { txn_id: 'app-1', participants: ['p1'], timeout_ms: 10_000 };
    await expect(unary(coord, 'Begin', begin, bobToken)).rejects.toMatchObject(DENIED);
    await expect(unary(coord, 'Begin', { ...begin, txn_id: 'other-1' }, aliceToken)).rejects.toMatchObject(
      DENIED,
    );
    await unary(coord, 'Begin', begin, aliceToken);
    await expect(unary(coord, 'Get', { txn_id: 'app-1' }, bobToken)).rejects.toMatchObject(DENIED);
    expect((await unary(coord, 'Get', { txn_id: 'app-1' }, aliceToken)).txn_id ?? 'app-1').toBeTruthy();
  });

  test('Watch: a create without permission is cancelled; revoking the permission cancels an open watch at once', async () => {
    const kv = client(S.KV);
    const auth = client(S.Auth);
    await unary(auth, 'RoleAdd', { name: 'watcher' }, rootToken);
    await unary(
      auth,
      'RoleGrantPermission',
      { name: 'watcher', perm: { permType: 'READ', key: b('w/'), range_end: prefixEnd('w/') } },
      rootToken,
    );
    await unary(auth, 'UserAdd', { name: 'carl', password: 'carlpw' }, rootToken);
    await unary(auth, 'UserGrantRole', { user: 'carl', role: 'watcher' }, rootToken);
    const carl = await token('carl', 'carlpw');
    const watch = client(S.Watch);
    const stream = watch.Watch(meta(carl));
    const responses: Any[] = [];
    stream.on('data', (r: Any) => responses.push(r));
    stream.on('error', () => {});
    stream.write({ create_request: { key: b('secret/'), range_end: prefixEnd('secret/') } });
    await eventually(async () => expect(responses.length).toBe(1));
    expect(responses[0]).toMatchObject({
      created: true,
      canceled: true,
      cancel_reason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
    });
    stream.write({ create_request: { key: b('w/'), range_end: prefixEnd('w/') } });
    await eventually(async () => expect(responses.length).toBe(2));
    const id = responses[1].watch_id;
    expect(responses[1]).toMatchObject({ created: true, canceled: false });
    await unary(kv, 'Put', { key: b('w/1'), value: b('v') }, rootToken);
    await eventually(async () => expect(responses.some((r) => r.events?.length === 1)).toBe(true));
    // Revoke: the open watch is cancelled with etcd's reason, without the client doing anything.
    await unary(
      auth,
      'RoleRevokePermission',
      { role: 'watcher', key: b('w/'), range_end: prefixEnd('w/') },
      rootToken,
    );
    await eventually(async () =>
      expect(responses.find((r) => r.canceled && r.watch_id === id)).toMatchObject({
        cancel_reason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
      }),
    );
    stream.end();
  });

  test('deleting a user ends its open MembershipService subscription with permission denied', async () => {
    const auth = client(S.Auth);
    await unary(auth, 'UserAdd', { name: 'erin', password: 'erinpw' }, rootToken);
    await unary(auth, 'UserGrantRole', { user: 'erin', role: 'app-rw' }, rootToken);
    const erin = await token('erin', 'erinpw');
    const members = client(cairnService('membership.proto', 'MembershipService'));
    const stream = members.Subscribe({ service: 'payments' }, meta(erin));
    const got: Any[] = [];
    let error: Any;
    stream.on('data', (r: Any) => got.push(r));
    stream.on('error', (e: Any) => {
      error = e;
    });
    await eventually(async () => expect(got.length).toBeGreaterThan(0));
    await unary(auth, 'UserDelete', { name: 'erin' }, rootToken);
    await eventually(async () => expect(error).toMatchObject(DENIED));
    // and the deleted user's token is no longer accepted
    await expect(unary(client(S.KV), 'Range', { key: b('app/a') }, erin)).rejects.toMatchObject(BAD_TOKEN);
  });

  test('the etcd3 client authenticates with username and password', async () => {
    const alice = new Etcd3({
      hosts: cluster.topology.members.map((m) => m.clientUrl),
      auth: { username: 'alice', password: 'alicepw' },
    });
    const anon = new Etcd3({ hosts: cluster.topology.members.map((m) => m.clientUrl) });
    const wrong = new Etcd3({
      hosts: cluster.topology.members.map((m) => m.clientUrl),
      auth: { username: 'alice', password: 'bad' },
    });
    try {
      await alice.put('app/etcd3').value('yes').exec();
      expect(await alice.get('app/etcd3').string()).toBe('yes');
      await expect(alice.get('secret').string()).rejects.toThrow(/permission denied/);
      await expect(anon.get('app/etcd3').string()).rejects.toThrow(/user name is empty/);
      await expect(wrong.get('app/etcd3').string()).rejects.toThrow(/authentication failed/);
    } finally {
      alice.close();
      anon.close();
      wrong.close();
    }
  });

  test('repeated wrong passwords for one name are rate-limited', async () => {
    const auth = client(S.Auth, 2);
    for (let i = 0; i < 5; i++)
      await expect(
        unary(auth, 'Authenticate', { name: 'dora', password: `guess${i}` }),
      ).rejects.toMatchObject(AUTH_FAILED);
    await expect(unary(auth, 'Authenticate', { name: 'dora', password: 'guess' })).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
  });

  test("the SDK's Client authenticates with auth: { username, password }", async () => {
    const sdk = new Client({
      endpoints: cluster.endpoints(),
      deadlineMs: 8000,
      auth: { username: 'alice', password: 'alicepw' },
    });
    const wrong = new Client({
      endpoints: cluster.endpoints(),
      deadlineMs: 8000,
      auth: { username: 'alice', password: 'x' },
    });
    const anon = new Client({ endpoints: cluster.endpoints(), deadlineMs: 8000 });
    try {
      await sdk.kv.put('app/sdk', 'v1');
      expect(await sdk.kv.getText('app/sdk')).toBe('v1');
      await expect(sdk.kv.getText('secret')).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED });
      await expect(wrong.kv.getText('app/sdk')).rejects.toMatchObject({ code: ErrorCode.AUTH_FAILED });
      await expect(anon.kv.getText('app/sdk')).rejects.toMatchObject({ code: ErrorCode.USER_EMPTY });
      // a watch stream carries the token too
      const watcher = sdk.watch('app/sdk');
      const it = watcher[Symbol.asyncIterator]();
      const first = it.next();
      await eventually(async () => {
        await sdk.kv.put('app/sdk', 'v2');
        const r = await Promise.race([
          first,
          new Promise((_, rej) => setTimeout(() => rej(new Error('no event yet')), 500)),
        ]);
        expect((r as Any).value).toBeDefined();
      });
      watcher.close();
    } finally {
      await sdk.close();
      await wrong.close();
      await anon.close();
    }
  });

  test('the auth state survives a member restart; the SDK authenticates again when the member forgot its token', async () => {
    const name = cluster.topology.members[1]!.name;
    const sdk = new Client({
      endpoints: [cluster.endpoints()[1]!],
      deadlineMs: 8000,
      auth: { username: 'alice', password: 'alicepw' },
    });
    await sdk.kv.put('app/before-restart', 'x');
    await cluster.kill(name);
    cluster.startMember(cluster.member(name));
    const auth = client(S.Auth, 1);
    await eventually(async () => expect((await unary(auth, 'AuthStatus', {})).enabled).toBe(true), 60_000);
    const t = await eventually(() => token('alice', 'alicepw', 1), 30_000);
    await unary(client(S.KV, 1), 'Range', { key: b('app/a') }, t);
    // The restarted member does not know the SDK's old token: the SDK gets a new one and goes on.
    expect(await eventually(() => sdk.kv.getText('app/before-restart'), 30_000)).toBe('x');
    await sdk.close();
  }, 90_000);
});
