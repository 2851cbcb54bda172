/**
 * Proves that a lock's waitTimeoutMs bounds the whole acquire, not only the wait in line:
 * with a lease grant that is slow, a member that never answers the Acquire and a revoke that
 * hangs (what a paused or partitioned leader looks like), client.lock still gives up with
 * LOCK_WAIT_TIMEOUT within waitTimeoutMs (found by the chaos lock workload, seed 901: a 10 s
 * wait gave up after 31.5 s, the grant, a per-attempt deadline of wait + 10 s and the revoke
 * adding up). Fakes stand in for the connection and the lease service, and fake timers give
 * the elapsed time exactly, so nothing depends on the machine's speed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallOptions, Connection, Wire } from '../../src/client/connection.js';
import { ClientError, ErrorCode } from '../../src/client/errors.js';
import { Lease, type Leases } from '../../src/client/lease.js';
import { Locks } from '../../src/client/locks.js';

const CLIENT_DEADLINE_MS = 10_000;
const GRANT_TAKES_MS = 3000;

/** Rejects with the client's TIMEOUT once the call's deadline passes: a member that never answers. */
function neverAnswered(deadlineMs: number | undefined): Promise<never> {
  return new Promise((_, reject) =>
    setTimeout(
      () => reject(new ClientError(ErrorCode.TIMEOUT, 'deadline exceeded', 4, true)),
      deadlineMs ?? CLIENT_DEADLINE_MS,
    ),
  );
}

class FakeLeases {
  readonly calls: string[] = [];
  forget(): void {}
  sendKeepAlive(): void {}
  abandonStream(): void {}
  async grant(ttlSeconds: number, options: CallOptions = {}): Promise<Lease> {
    this.calls.push(`grant deadline ${options.deadlineMs ?? 'default'}`);
    const deadlineMs = options.deadlineMs ?? CLIENT_DEADLINE_MS;
    if (deadlineMs < GRANT_TAKES_MS) return neverAnswered(deadlineMs);
    await new Promise((r) => setTimeout(r, GRANT_TAKES_MS));
    return new Lease(this as unknown as Leases, 7, ttlSeconds, Date.now());
  }
  revoke(_id: number, options: CallOptions = {}): Promise<void> {
    this.calls.push('revoke');
    return neverAnswered(options.deadlineMs);
  }
}

class FakeConnection {
  readonly deadlineMs = CLIENT_DEADLINE_MS;
  readonly requests: Wire[] = [];
  backoffMs(): number {
    return 100;
  }
  cancelled(): ClientError {
    return new ClientError(ErrorCode.CANCELLED, 'cancelled', 1, false);
  }
  unary(_service: string, method: string, request: Wire, options: CallOptions = {}): Promise<Wire> {
    this.requests.push({ method, ...request, deadlineMs: options.deadlineMs });
    return neverAnswered(options.deadlineMs);
  }
}

async function elapsedUntilSettled(p: Promise<unknown>): Promise<{ elapsedMs: number; error: unknown }> {
  const startMs = performance.now();
  let settled: { error: unknown } | undefined;
  p.then(
    () => {
      settled = { error: undefined };
    },
    (error: unknown) => {
      settled = { error };
    },
  );
  while (!settled && performance.now() - startMs < 120_000) await vi.advanceTimersByTimeAsync(50);
  return { elapsedMs: performance.now() - startMs, error: settled?.error };
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('lock wait timeout', () => {
  it('bounds the lease grant, every attempt and the giving up by waitTimeoutMs', async () => {
    const connection = new FakeConnection();
    const leases = new FakeLeases();
    const locks = new Locks(connection as unknown as Connection, leases as unknown as Leases);
    const waitTimeoutMs = 10_000;
    const { elapsedMs, error } = await elapsedUntilSettled(
      locks.lock('l', { ttlSeconds: 5, waitTimeoutMs, owner: 't' }),
    );
    expect((error as ClientError).code).toBe(ErrorCode.LOCK_WAIT_TIMEOUT);
    expect(elapsedMs).toBeLessThanOrEqual(waitTimeoutMs + 100);
    const acquires = connection.requests.filter((r) => r.method === 'Acquire');
    expect(acquires.length).toBeGreaterThan(0);
    // The server is asked to wait less than the client waits for its answer.
    for (const a of acquires) expect(Number(a.wait_timeout_ms)).toBeLessThan(Number(a.deadlineMs));
    expect(leases.calls).toContain('revoke');
  });

  it('gives up with LOCK_WAIT_TIMEOUT when the lease grant alone outlasts the wait', async () => {
    const connection = new FakeConnection();
    const leases = new FakeLeases();
    const locks = new Locks(connection as unknown as Connection, leases as unknown as Leases);
    const { elapsedMs, error } = await elapsedUntilSettled(
      locks.lock('l', { ttlSeconds: 5, waitTimeoutMs: 1000, owner: 't' }),
    );
    expect((error as ClientError).code).toBe(ErrorCode.LOCK_WAIT_TIMEOUT);
    expect(elapsedMs).toBeLessThanOrEqual(1100);
    expect(connection.requests).toEqual([]);
  });
});
