/**
 * Proves etcdctl 3.4 drives Cairn's auth unchanged against a real three-member cluster:
 * `user add`, `role add`, `role grant-permission` (a key and a --prefix), `user grant-role`,
 * `auth enable`, then `--user name:password` commands succeed where the role permits and
 * fail with etcd's messages where it does not, without credentials, and with a wrong
 * password; cairnctl's `--user name:password` works the same way; `auth disable` restores
 * open access. Skipped where etcdctl is absent.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cairnctl } from '../cli/run-cli.js';
import { TestCluster } from '../support/cluster.js';
import { eventually, hasEtcdctl, etcdctl as runEtcdctl } from '../support/etcdctl.js';

let cluster: TestCluster;
const etcdctl = (args: string[]) => runEtcdctl(cluster.endpoints(), args);

async function ok(args: string[]): Promise<string> {
  const r = await etcdctl(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

describe.skipIf(!hasEtcdctl)('etcdctl auth against a Cairn cluster', () => {
  beforeAll(async () => {
    cluster = await TestCluster.start();
    // etcdctl spreads calls over the members and does not retry a write answered "no leader".
    await cluster.agreedLeaderName();
    await eventually(() => ok(['put', 'ready', '1']));
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  test('user, role, grant, enable, then --user works as etcd', async () => {
    expect(await ok(['user', 'add', 'root:rootpw'])).toBe('User root created');
    expect(await ok(['user', 'grant-role', 'root', 'root'])).toBe('Role root is granted to user root');
    expect(await ok(['role', 'add', 'app'])).toBe('Role app created');
    expect(await ok(['role', 'grant-permission', 'app', 'readwrite', 'k1'])).toBe('Role app updated');
    expect(await ok(['role', 'grant-permission', 'app', 'read', '--prefix', 'pub/'])).toBe(
      'Role app updated',
    );
    expect(await ok(['user', 'add', 'u:upw'])).toBe('User u created');
    expect(await ok(['user', 'grant-role', 'u', 'app'])).toBe('Role app is granted to user u');
    const role = await ok(['role', 'get', 'app']);
    expect(role).toContain('KV Read:');
    expect(role).toContain('[pub/, pub0) (prefix pub/)');
    expect(role).toContain('k1');
    expect(await ok(['put', 'pub/a', 'hello'])).toBe('OK');
    expect(await ok(['auth', 'enable'])).toBe('Authentication Enabled');

    expect(await ok(['--user', 'root:rootpw', 'get', 'pub/a'])).toBe('pub/a\nhello');
    expect(await ok(['--user', 'u:upw', 'put', 'k1', 'v'])).toBe('OK');
    expect(await ok(['--user', 'u:upw', 'get', 'pub/', '--prefix'])).toBe('pub/a\nhello');
    const denied = await etcdctl(['--user', 'u:upw', 'put', 'pub/a', 'x']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('etcdserver: permission denied');
    const anonymous = await etcdctl(['get', 'k1']);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain('etcdserver: user name is empty');
    const wrong = await etcdctl(['--user', 'u:nope', 'get', 'k1']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('etcdserver: authentication failed, invalid user ID or password');
    const notRoot = await etcdctl(['--user', 'u:upw', 'user', 'list']);
    expect(notRoot.stderr).toContain('etcdserver: permission denied');
    expect((await ok(['--user', 'root:rootpw', 'user', 'list'])).split('\n')).toEqual(['root', 'u']);
    expect(await ok(['--user', 'root:rootpw', 'user', 'get', 'u'])).toContain('Roles: app');

    const endpoints = `--endpoints=${cluster.endpoints().join(',')}`;
    const asU = await cairnctl([endpoints, '--user', 'u:upw', 'get', 'k1', '-o', 'json']);
    expect(asU.code, asU.stderr).toBe(0);
    expect(asU.stdout).toContain('k1');
    const anonCtl = await cairnctl([endpoints, 'get', 'k1']);
    expect(anonCtl.code).not.toBe(0);
    expect(anonCtl.stderr).toContain('user name is empty');
    const wrongCtl = await cairnctl([endpoints, '--user', 'u:bad', 'get', 'k1']);
    expect(wrongCtl.code).not.toBe(0);
    expect(wrongCtl.stderr).toContain('authentication failed');

    expect(await ok(['--user', 'root:rootpw', 'auth', 'disable'])).toBe('Authentication Disabled');
    expect(await ok(['get', 'k1'])).toBe('k1\nv');
  }, 120_000);
});
