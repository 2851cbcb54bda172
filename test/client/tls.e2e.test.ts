/**
 * Proves the SDK and cairnctl over TLS against a real cluster started with client-cert-auth
 * (certificates from cluster/certs.ts, as `npm run start:tls` makes them): with the CA and a
 * client certificate they work; without a certificate the call fails with a connection
 * error and writes nothing; cairnctl without --cacert, or with plain (not https://)
 * endpoints, exits 5 (TLS) with a hint that says which, and with the files it works.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Client, ClientError, ErrorCode } from '../../src/client/index.js';
import { cairnctl } from '../cli/run-cli.js';
import { TestCluster } from '../support/cluster.js';

let cluster: TestCluster;
let https: string[];

beforeAll(async () => {
  cluster = await TestCluster.start(undefined, { tls: true });
  await cluster.leaderName();
  https = cluster.endpoints().map((e) => `https://${e}`);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

it('works with the CA and a client certificate, and refuses a client without one', async () => {
  const tls = cluster.topology.tls!;
  const client = new Client({
    endpoints: https,
    tls: { caFile: tls.caFile, certFile: tls.client.certFile, keyFile: tls.client.keyFile },
  });
  const stranger = new Client({ endpoints: https, tls: { caFile: tls.caFile }, deadlineMs: 3000 });
  try {
    await client.kv.put('tls/sdk', 'yes');
    expect(await client.kv.getText('tls/sdk')).toBe('yes');
    const lease = await client.lease(10);
    expect((await lease.timeToLive()).ttlSeconds).toBeGreaterThan(0);
    await lease.revoke();
    const err = await stranger.kv.put('tls/stranger', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect([ErrorCode.CONNECTION_FAILED, ErrorCode.CONNECTION_LOST, ErrorCode.TIMEOUT]).toContain(
      (err as ClientError).code,
    );
    expect(await client.kv.getText('tls/stranger')).toBeUndefined();
  } finally {
    await client.close();
    await stranger.close();
  }
}, 60_000);

it('cairnctl exits 5 with a hint without --cacert or without https://, and works with the files', async () => {
  const tls = cluster.topology.tls!;
  const endpoints = ['--endpoints', https.join(','), '--command-timeout', '5s'];
  const untrusted = await cairnctl([...endpoints, 'get', 'tls/sdk']);
  expect(untrusted.code).toBe(5);
  expect(untrusted.stderr).toMatch(/--cacert/);
  const plain = await cairnctl([
    '--endpoints',
    cluster.endpoints().join(','),
    '--command-timeout',
    '5s',
    'get',
    'tls/sdk',
  ]);
  expect(plain.code).toBe(5);
  expect(plain.stderr).toMatch(
    /TLS mismatch: .* speak TLS, but the endpoints were given without https:\/\/\n {2}hint: use https:\/\/ endpoints and --cacert/,
  );
  const files = ['--cacert', tls.caFile, '--cert', tls.client.certFile, '--key', tls.client.keyFile];
  const put = await cairnctl([...endpoints, ...files, 'put', 'tls/ctl', 'v1']);
  expect(put.code).toBe(0);
  const got = await cairnctl([...endpoints, ...files, '-o', 'json', 'get', 'tls/ctl']);
  expect(got.code).toBe(0);
  expect(JSON.parse(got.stdout).kvs[0].value).toBe('v1');
}, 60_000);
