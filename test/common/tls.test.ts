/**
 * Proves a member's TLS files are read and checked at startup, with errors that name the
 * flag and the path: a missing or unreadable file, a file that is not PEM, and a key that
 * does not belong to its certificate are each refused, and the member process exits with
 * that message before touching its data folder. Certificates come from cluster/certs.ts
 * (openssl); skipped, saying so, without openssl. Also that peer TLS credentials are made only
 * when an https:// peer is dialled, once.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ClusterCerts, ensureClusterCerts, hasOpenssl } from '../../cluster/certs.js';
import { serverCommand } from '../../cluster/processes.js';
import { loadServerConfig, type ServerConfig } from '../../src/common/config.js';
import { loadMemberTls, peerCredentialsOf, peerDialCredentials } from '../../src/common/tls.js';
import { TEST_ENTRY } from '../support/entry.js';
import { freePorts } from '../support/ports.js';

const canTls = hasOpenssl();
if (!canTls) console.warn('TLS file tests skipped: openssl is not on the PATH');

let dir = '';
let certs: ClusterCerts;
let other: ClusterCerts;

function configOf(flags: string[]): ServerConfig {
  return loadServerConfig({
    argv: [
      '--listen-client-urls=https://127.0.0.1:4001',
      '--listen-peer-urls=https://127.0.0.1:4002',
      ...flags,
    ],
    env: {},
    readFile: () => '',
  });
}

function fullFlags(): string[] {
  const own = certs.members.n1!;
  return [
    `--cert-file=${own.certFile}`,
    `--key-file=${own.keyFile}`,
    `--trusted-ca-file=${certs.caFile}`,
    '--client-cert-auth',
    `--peer-cert-file=${own.certFile}`,
    `--peer-key-file=${own.keyFile}`,
    `--peer-trusted-ca-file=${certs.caFile}`,
  ];
}

describe('peer dialling credentials', () => {
  test('are made once, at the first https:// peer, and never for http:// peers', () => {
    let made = 0;
    const counted = () => {
      made++;
      return peerCredentialsOf({})();
    };
    expect(peerDialCredentials('http://127.0.0.1:1', counted)._isSecure()).toBe(false);
    expect(made).toBe(0);
    const lazy = peerCredentialsOf({});
    const first = peerDialCredentials('https://127.0.0.1:1', lazy);
    expect(first._isSecure()).toBe(true);
    expect(peerDialCredentials('https://127.0.0.1:2', lazy)).toBe(first);
    expect(peerDialCredentials('https://127.0.0.1:3', counted)._isSecure()).toBe(true);
    expect(made).toBe(1);
  });
});

describe.skipIf(!canTls)('TLS files', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-tls-files-'));
    certs = ensureClusterCerts(join(dir, 'ours'), ['n1']);
    other = ensureClusterCerts(join(dir, 'other'), ['n1']);
    writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('good files load into both sides, with client-cert-auth as configured', () => {
    const tls = loadMemberTls(configOf(fullFlags()));
    expect(tls.client.keyPair?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls.client.ca?.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls.client.clientCertAuth).toBe(true);
    expect(tls.peer.keyPair).toBeDefined();
    expect(tls.peer.clientCertAuth).toBe(false);
  });

  test('files already made are kept: a second call changes nothing', () => {
    const again = ensureClusterCerts(join(dir, 'ours'), ['n1']);
    expect(again).toEqual(certs);
    const before = loadMemberTls(configOf(fullFlags())).client.keyPair!.cert;
    expect(before.equals(loadMemberTls(configOf(fullFlags())).client.keyPair!.cert)).toBe(true);
  });

  test.each([
    [
      'cert-file',
      () => join(dir, 'missing.pem'),
      /--cert-file \S*missing\.pem: cannot read the file \(ENOENT\)/,
    ],
    ['cert-file', () => dir, /--cert-file \S+: cannot read the file \(EISDIR\)/],
    ['cert-file', () => join(dir, 'garbage.pem'), /--cert-file \S*garbage\.pem: is not a PEM certificate/],
    ['key-file', () => join(dir, 'garbage.pem'), /--key-file \S*garbage\.pem: is not a PEM private key/],
    [
      'key-file',
      () => other.members.n1!.keyFile,
      /--key-file \S+: is not the private key of --cert-file \S+/,
    ],
    ['trusted-ca-file', () => join(dir, 'missing.pem'), /--trusted-ca-file \S*missing\.pem: cannot read/],
    ['peer-cert-file', () => join(dir, 'missing.pem'), /--peer-cert-file \S*missing\.pem: cannot read/],
    ['peer-key-file', () => other.client.keyFile, /--peer-key-file \S+: is not the private key of/],
    ['peer-trusted-ca-file', () => join(dir, 'garbage.pem'), /--peer-trusted-ca-file \S+: is not a PEM/],
  ])('a bad --%s is refused, naming the flag and the path', (flag, path, message) => {
    const flags = fullFlags().filter((f) => !f.startsWith(`--${flag}=`));
    expect(() => loadMemberTls(configOf([...flags, `--${flag}=${path()}`]))).toThrow(message);
  });

  test('a member with a missing --cert-file exits at startup, saying which flag and path', async () => {
    const [client, peer] = await freePorts(2);
    const dataDir = join(dir, 'never-created');
    const missing = join(dir, 'nope', 'server.pem');
    const { command, args } = serverCommand(TEST_ENTRY);
    const outcome = await promisify(execFile)(command, [
      ...args,
      '--name=n1',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=https://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--cert-file=${missing}`,
      `--key-file=${certs.members.n1!.keyFile}`,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toContain(`--cert-file ${missing}: cannot read the file (ENOENT)`);
    expect(existsSync(dataDir)).toBe(false);
  }, 30_000);
});
