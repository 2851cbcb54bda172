/**
 * Proves the SDK never sends a write again when the connection is lost while the call is in
 * flight, unless the caller says it is idempotent: a real Client reaches an in-process fake of
 * etcd's KV service through a TCP relay, and when a scripted call arrives the fake cuts every
 * relayed connection instead of answering (the server got the request; the client never
 * learns what became of it). A put, delete or writing txn cut this way arrives once and
 * fails CONNECTION_LOST with outcomeUnknown; a put marked idempotent, a read and a read-only
 * txn are sent again on a new connection and succeed. (retry-writes.test.ts covers the same
 * rule for etcd's "request timed out" answer.)
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import { ErrorCode } from '../../src/client/errors.js';
import { op } from '../../src/client/kv-ops.js';
import { expectWritesSentOnce, okAnswer, startFakeKv } from './fake-kv.js';

let server: grpc.Server;
let relay: Server;
let client: Client;
/** Every socket the relay holds open (both sides of each relayed connection). */
const sockets = new Set<Socket>();
/** How many arrivals of each method to answer by cutting the connection. */
const cuts = new Map<string, number>();
/** How many calls arrived, by method. */
const arrived = new Map<string, number>();

function track(s: Socket): Socket {
  sockets.add(s);
  s.once('close', () => sockets.delete(s));
  s.on('error', () => undefined);
  return s;
}

/** Drops every relayed connection at once, as a crashed member or a broken network would. */
function cutAll(): void {
  for (const s of sockets) s.destroy();
}

beforeAll(async () => {
  let serverPort: number;
  ({ server, port: serverPort } = await startFakeKv((method) => (_call, callback) => {
    arrived.set(method, (arrived.get(method) ?? 0) + 1);
    const left = cuts.get(method) ?? 0;
    if (left > 0) {
      cuts.set(method, left - 1);
      cutAll();
      return; // never answered
    }
    callback(null, okAnswer(method));
  }));
  relay = createServer((inbound) => {
    const outbound = track(tcpConnect(serverPort, '127.0.0.1'));
    track(inbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.once('close', () => outbound.destroy());
    outbound.once('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const address = relay.address();
  if (address === null || typeof address === 'string') throw new Error('relay has no port');
  client = new Client({
    endpoints: [`127.0.0.1:${address.port}`],
    deadlineMs: 5000,
    retry: { attemptsMax: 6, backoffBaseMs: 20, backoffMaxMs: 200 },
  });
});

afterAll(async () => {
  await client?.close();
  cutAll();
  await new Promise<void>((resolve) => (relay ? relay.close(() => resolve()) : resolve()));
  server?.forceShutdown();
});

beforeEach(() => {
  cuts.clear();
  arrived.clear();
});

describe('a write cut off by a lost connection', () => {
  it('is sent once: put, delete and a writing txn fail CONNECTION_LOST with outcomeUnknown', async () => {
    cuts.set('Put', 2);
    cuts.set('DeleteRange', 2);
    cuts.set('Txn', 2);
    await expectWritesSentOnce(client, ErrorCode.CONNECTION_LOST, arrived);
  });

  it('is sent again on a new connection when the caller marks it idempotent', async () => {
    cuts.set('Put', 1);
    const r = await client.kv.put('k', 'v', { idempotent: true });
    expect(r.revision).toBe(7);
    expect(arrived.get('Put')).toBe(2);
  });
});

describe('reads cut off by a lost connection', () => {
  it('are sent again: a range and a read-only txn', async () => {
    cuts.set('Range', 1);
    cuts.set('Txn', 1);
    expect((await client.kv.get('k')).count).toBe(0);
    expect((await client.kv.txn().success(op.get('k')).commit()).succeeded).toBe(true);
    expect(Object.fromEntries(arrived)).toEqual({ Range: 2, Txn: 2 });
  });
});
