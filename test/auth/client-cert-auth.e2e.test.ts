/**
 * Proves that with --client-cert-auth the verified client certificate's common name is the
 * user when a call carries no token, on a real TLS TestCluster: the certificate's user
 * ("client", added without a password) reaches exactly the keys its role grants, cannot
 * authenticate with a password, and a token still takes precedence over the certificate.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { etcdServices } from '../../src/common/proto-loader.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';

// biome-ignore lint/suspicious/noExplicitAny: wire objects and dynamic clients
type Any = any;

let cluster: TestCluster;
const S = etcdServices();
const clients: grpc.Client[] = [];

function client(ctor: grpc.ServiceClientConstructor): Any {
  const tls = cluster.topology.tls!;
  const creds = grpc.credentials.createSsl(
    readFileSync(tls.caFile),
    readFileSync(tls.client.keyFile),
    readFileSync(tls.client.certFile),
  );
  const c = new ctor(cluster.endpoints()[0]!, creds);
  clients.push(c);
  return c;
}

function unary(c: Any, method: string, req: Any, token?: string): Promise<Any> {
  const m = new grpc.Metadata();
  if (token) m.set('token', token);
  return new Promise((resolve, reject) =>
    c[method](req, m, { deadline: Date.now() + 15_000 }, (err: Error | null, res: Any) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

const b = (s: string) => Buffer.from(s);

describe('client certificate common name as the user', () => {
  beforeAll(async () => {
    cluster = await TestCluster.start(undefined, { tls: true });
    await cluster.leaderName();
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 60_000);

  test('the certificate user reaches what its role grants, and nothing else', async () => {
    const auth = client(S.Auth);
    const kv = client(S.KV);
    await eventually(() => unary(auth, 'UserAdd', { name: 'root', password: 'rootpw' }));
    await unary(auth, 'UserGrantRole', { user: 'root', role: 'root' });
    await unary(auth, 'UserAdd', { name: 'client', options: { no_password: true } });
    await unary(auth, 'RoleAdd', { name: 'certs' });
    await unary(auth, 'RoleGrantPermission', {
      name: 'certs',
      perm: { permType: 'READWRITE', key: b('cert/'), range_end: b('cert0') },
    });
    await unary(auth, 'UserGrantRole', { user: 'client', role: 'certs' });
    await unary(auth, 'AuthEnable', {});

    // No token: the certificate's CN ("client") is the user.
    await eventually(() => unary(kv, 'Put', { key: b('cert/a'), value: b('1') }));
    expect((await unary(kv, 'Range', { key: b('cert/a') })).kvs[0].value.toString()).toBe('1');
    await expect(unary(kv, 'Put', { key: b('other'), value: b('1') })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'etcdserver: permission denied',
    });
    await expect(unary(auth, 'UserList', {})).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    // A user without a password cannot authenticate with one.
    await expect(unary(auth, 'Authenticate', { name: 'client', password: '' })).rejects.toMatchObject({
      details: 'etcdserver: authentication failed, invalid user ID or password',
    });
    // A token names its own user, over the certificate's.
    const { token } = await unary(auth, 'Authenticate', { name: 'root', password: 'rootpw' });
    await unary(kv, 'Put', { key: b('other'), value: b('root') }, token);
    expect((await unary(auth, 'UserList', {}, token)).users).toEqual(['client', 'root']);
  });
});
