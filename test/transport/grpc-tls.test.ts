/**
 * Proves TLS credentials passed to GrpcTransport are used on both sides: with a self-signed
 * certificate for 127.0.0.1 (made by openssl for this test), two members exchange messages
 * and a snapshot over TLS, and a member dialling without TLS gets nothing through; a member
 * with TLS credentials still dials a peer at an http:// URL in plaintext (the URL decides).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../src/raft/types.js';
import { Members, msg, snapshotOf, until } from './support.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const members = new Members();
afterEach(() => members.close());

describe.skipIf(!hasOpenssl())('GrpcTransport over TLS', () => {
  let dir = '';
  let cert = Buffer.alloc(0);
  let key = Buffer.alloc(0);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('carries messages and a snapshot with the credentials it is given', async () => {
    const tls = () => ({
      serverCredentials: grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }]),
      channelCredentials: () => grpc.credentials.createSsl(cert),
    });
    const a = members.create(1, tls());
    const b = members.create(2, tls());
    const plain = members.create(3);
    for (const m of [a, b, plain]) await m.transport.start();
    a.transport.addPeer(2, `https://127.0.0.1:${b.transport.port}`);
    plain.transport.addPeer(2, `http://127.0.0.1:${b.transport.port}`);
    a.transport.send([
      msg(MessageType.Heartbeat, 1, 2),
      msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(3000) }),
    ]);
    await until('delivery over TLS', () => b.received.length === 2 && a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: 2, ok: true }]);
    await until('the plaintext dialler is refused', () => {
      plain.transport.send([msg(MessageType.Heartbeat, 3, 2)]);
      return plain.unreachable.length > 0;
    });
    expect(b.received.every((m) => m.from === 1)).toBe(true);
  });

  it('dials a peer at an http:// URL in plaintext even with TLS credentials, and never makes them', async () => {
    let made = 0;
    const a = members.create(1, {
      channelCredentials: () => {
        made++;
        return grpc.credentials.createSsl(cert);
      },
    });
    const plain = members.create(2);
    for (const m of [a, plain]) await m.transport.start();
    a.transport.addPeer(2, `http://127.0.0.1:${plain.transport.port}`);
    a.transport.send([msg(MessageType.Heartbeat, 1, 2)]);
    await until('delivery in plaintext', () => plain.received.length === 1);
    expect(plain.received[0]?.from).toBe(1);
    expect(made).toBe(0);
  });
});
