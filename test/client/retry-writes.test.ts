/**
 * Proves the SDK never sends a write again when its outcome is unknown, unless the caller
 * says it is idempotent: a real Client talks to an in-process fake of etcd's KV service
 * whose answers each test scripts, and the fake counts what arrived. A put, delete or
 * writing txn answered with etcd's "request timed out" arrives once and fails with
 * outcomeUnknown; reads, read-only txns, and writes marked idempotent are sent again and
 * succeed; a write refused with "no leader" (it certainly did not happen) is sent again, up
 * to attemptsMax. (A silent member is no test of the rule: one deadline covers all attempts.)
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import { ErrorCode } from '../../src/client/errors.js';
import { op } from '../../src/client/kv-ops.js';
import { expectWritesSentOnce, failure, okAnswer, startFakeKv } from './fake-kv.js';

/** What the fake answers to one call: an etcd error string, or success. */
type Answer = 'timed out' | 'no leader' | 'ok';

const ETCD_MESSAGES: Record<'timed out' | 'no leader', string> = {
  'timed out': 'etcdserver: request timed out',
  'no leader': 'etcdserver: no leader',
};

let server: grpc.Server;
let client: Client;
/** Answers still to give, by method; 'ok' once the script runs out. */
const script = new Map<string, Answer[]>();
/** How many calls arrived, by method. */
const arrived = new Map<string, number>();

beforeAll(async () => {
  let port: number;
  ({ server, port } = await startFakeKv((method) => (_call, callback) => {
    arrived.set(method, (arrived.get(method) ?? 0) + 1);
    const answer = script.get(method)?.shift() ?? 'ok';
    if (answer === 'ok') {
      callback(null, okAnswer(method));
      return;
    }
    callback({ code: grpc.status.UNAVAILABLE, details: ETCD_MESSAGES[answer] });
  }));
  client = new Client({
    endpoints: [`127.0.0.1:${port}`],
    deadlineMs: 3000,
    retry: { attemptsMax: 4, backoffBaseMs: 1, backoffMaxMs: 5 },
  });
});

afterAll(async () => {
  await client?.close();
  server?.forceShutdown();
});

beforeEach(() => {
  script.clear();
  arrived.clear();
});

describe('a write whose outcome is unknown', () => {
  it('is sent once: put, delete and a writing txn answered "request timed out"', async () => {
    script.set('Put', ['timed out', 'timed out']);
    script.set('DeleteRange', ['timed out', 'timed out']);
    script.set('Txn', ['timed out', 'timed out']);
    await expectWritesSentOnce(client, ErrorCode.TIMEOUT, arrived);
  });

  it('is sent again when the caller marks it idempotent', async () => {
    script.set('Put', ['timed out', 'timed out']);
    const r = await client.kv.put('k', 'v', { idempotent: true });
    expect(r.revision).toBe(7);
    expect(arrived.get('Put')).toBe(3);
  });
});

describe('calls that may be sent again', () => {
  it('reads and read-only txns are retried after "request timed out"', async () => {
    script.set('Range', ['timed out', 'timed out']);
    script.set('Txn', ['timed out']);
    expect((await client.kv.get('k')).count).toBe(0);
    expect((await client.kv.txn().success(op.get('k')).commit()).succeeded).toBe(true);
    expect(Object.fromEntries(arrived)).toEqual({ Range: 3, Txn: 2 });
  });

  it('a write refused with "no leader" (certainly not applied) is retried', async () => {
    script.set('Put', ['no leader', 'no leader']);
    expect((await client.kv.put('k', 'v')).revision).toBe(7);
    expect(arrived.get('Put')).toBe(3);
  });

  it('gives up after attemptsMax attempts of a retriable failure', async () => {
    script.set('Put', ['no leader', 'no leader', 'no leader', 'no leader', 'no leader']);
    const err = await failure(client.kv.put('k', 'v'));
    expect(err.code).toBe(ErrorCode.NO_LEADER);
    expect(err.outcomeUnknown).toBe(false);
    expect(arrived.get('Put')).toBe(4);
  });
});
