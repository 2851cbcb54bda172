/**
 * Proves the SDK's per-call deadlines and its retry waits against an in-process fake of etcd's
 * KV service whose behaviour each test sets (never answer, refuse with "no leader", refuse a
 * bad request): a call's deadlineMs, else the client's, is the deadline the server receives
 * and the call fails TIMEOUT by it although the client default is a minute; retriable
 * failures are retried until the deadline, never past it; the wait between attempts is the
 * jittered backoff (an injected random of 0 retries at once, one near 1 makes a 60 s base wait
 * overshoot the deadline, so the call gives up after one attempt instead of sleeping); and a
 * failure that is not retriable is sent once, even for a read or an idempotent write; and
 * Client.close() ends a call the server never answers with CANCELLED (closing a grpc-js
 * channel alone lets it run on).
 * Nothing is asserted on elapsed time: a deadline that did not apply shows as a hang (the
 * test's timeout) or as the minute-long deadline the server saw.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Client, type ClientOptions } from '../../src/client/client.js';
import { ErrorCode } from '../../src/client/errors.js';
import { failure, okAnswer, startFakeKv } from './fake-kv.js';

type Behaviour = 'hang' | 'no leader' | 'bad request' | 'ok';

let server: grpc.Server;
let endpoint: string;
let behaviour: Behaviour = 'ok';
/** How many calls arrived, by method. */
const arrived = new Map<string, number>();
/**
 * How many calls arrived, by key. The retry tests count their own key: an attempt an earlier
 * test sent just before its deadline can reach the server after that test ended.
 */
const arrivedForKey = new Map<string, number>();
/** For each arrival: how far ahead of its arrival the deadline the server received lies (ms). */
const deadlineAheadMs: number[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  let port: number;
  ({ server, port } = await startFakeKv(
    (method) => (call, callback) => {
      const arrivedAtMs = Date.now();
      arrived.set(method, (arrived.get(method) ?? 0) + 1);
      const key = String((call.request as { key?: Buffer }).key ?? '');
      arrivedForKey.set(key, (arrivedForKey.get(key) ?? 0) + 1);
      const deadline = call.getDeadline();
      deadlineAheadMs.push((deadline instanceof Date ? deadline.getTime() : Number(deadline)) - arrivedAtMs);
      if (behaviour === 'hang') return;
      if (behaviour === 'no leader')
        callback({ code: grpc.status.UNAVAILABLE, details: 'etcdserver: no leader' });
      else if (behaviour === 'bad request') {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' });
      } else callback(null, okAnswer('Range'));
    },
    ['Range', 'Put'],
  ));
  endpoint = `127.0.0.1:${port}`;
});

afterAll(async () => {
  for (const c of clients) await c.close();
  server?.forceShutdown();
});

beforeEach(() => {
  behaviour = 'ok';
  arrived.clear();
  arrivedForKey.clear();
  deadlineAheadMs.length = 0;
});

function clientWith(options: Omit<ClientOptions, 'endpoints'>): Client {
  const c = new Client({ endpoints: [endpoint], ...options });
  clients.push(c);
  return c;
}

describe('deadlines', () => {
  it("a call's deadlineMs is sent to the server and ends the call with TIMEOUT", async () => {
    const c = clientWith({ deadlineMs: 60_000 });
    behaviour = 'hang';
    const err = await failure(c.kv.get('k', { deadlineMs: 300 }));
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(err.outcomeUnknown).toBe(true);
    expect(deadlineAheadMs.length).toBeGreaterThanOrEqual(1);
    // The client default (a minute) would put it ~60,000 ms ahead.
    for (const ahead of deadlineAheadMs) expect(ahead).toBeLessThanOrEqual(1_000);
  }, 20_000);

  it("the client's deadlineMs applies to a call that sets none", async () => {
    const c = clientWith({ deadlineMs: 300 });
    behaviour = 'hang';
    const err = await failure(c.kv.put('k', 'v'));
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(arrived.get('Put')).toBe(1);
    expect(deadlineAheadMs[0]).toBeLessThanOrEqual(1_000);
  }, 20_000);

  it('bounds the retries of a retriable failure: they stop at the deadline, before attemptsMax', async () => {
    const c = clientWith({
      deadlineMs: 60_000,
      retry: { attemptsMax: 1_000_000, backoffBaseMs: 1, backoffMaxMs: 20 },
    });
    behaviour = 'no leader';
    const err = await failure(c.kv.put('bounded', 'v', { deadlineMs: 400 }));
    // The last refusal, or the deadline itself when it ran out during an attempt.
    expect([ErrorCode.NO_LEADER, ErrorCode.TIMEOUT]).toContain(err.code);
    const attempts = arrivedForKey.get('bounded') ?? 0;
    expect(attempts).toBeGreaterThan(1);
    // 1 to 20 ms apart within 400 ms: far fewer than attemptsMax.
    expect(attempts).toBeLessThan(1_000);
  }, 20_000);
});

describe('the wait between attempts', () => {
  it('is the jittered backoff: random 0 retries at once, near 1 waits the whole base', async () => {
    behaviour = 'no leader';
    const retry = { attemptsMax: 3, backoffBaseMs: 60_000, backoffMaxMs: 60_000 };
    const noWait = clientWith({ deadlineMs: 5_000, retry, random: () => 0 });
    expect((await failure(noWait.kv.put('no-wait', 'v'))).code).toBe(ErrorCode.NO_LEADER);
    expect(arrivedForKey.get('no-wait')).toBe(3);
    // A 60 s wait cannot fit in a 5 s deadline: the call ends now rather than sleeping.
    const fullWait = clientWith({ deadlineMs: 5_000, retry, random: () => 0.999 });
    expect((await failure(fullWait.kv.put('full-wait', 'v'))).code).toBe(ErrorCode.NO_LEADER);
    expect(arrivedForKey.get('full-wait')).toBe(1);
  }, 20_000);
});

describe('a failure that is not retriable', () => {
  it('is sent once, even for a read or a write marked idempotent', async () => {
    const c = clientWith({ deadlineMs: 5_000, retry: { attemptsMax: 5, backoffBaseMs: 1, backoffMaxMs: 5 } });
    behaviour = 'bad request';
    const read = await failure(c.kv.get('k'));
    const write = await failure(c.kv.put('k', 'v', { idempotent: true }));
    for (const err of [read, write]) {
      expect(err.code).toBe(ErrorCode.EMPTY_KEY);
      expect(err.outcomeUnknown).toBe(false);
    }
    expect(Object.fromEntries(arrived)).toEqual({ Range: 1, Put: 1 });
  });
});

describe('close()', () => {
  it('fails a call in flight with CANCELLED instead of letting it run to its deadline', async () => {
    const c = clientWith({ deadlineMs: 60_000 });
    behaviour = 'hang';
    const pending = failure(c.kv.get('k'));
    while ((arrived.get('Range') ?? 0) === 0) await new Promise((r) => setTimeout(r, 10));
    await c.close();
    const err = await pending;
    expect(err.code).toBe(ErrorCode.CANCELLED);
  }, 20_000);
});
