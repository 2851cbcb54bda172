/**
 * The client's keep-alive stream when the member behind it stops answering: the stream moves
 * to the next member half an interval after a renewal went unanswered, every kept lease is
 * renewed there at once, and the lease is extended from when that renewal was sent.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Connection, Wire } from '../../src/client/connection.js';
import { type LeaseLostReason, Leases } from '../../src/client/lease.js';

/** A keep-alive stream that records what it was sent and answers only when told. */
class FakeStream extends EventEmitter {
  readonly sent: number[] = [];
  cancelled = false;
  constructor(readonly address: string) {
    super();
  }
  write(msg: Wire): boolean {
    this.sent.push(Number(msg.ID));
    return true;
  }
  cancel(): void {
    this.cancelled = true;
  }
  end(): void {}
  /** The member answers every renewal sent so far with ttlSeconds. */
  answerAll(ttlSeconds: number): void {
    for (const id of this.sent.splice(0)) this.emit('data', { ID: id, TTL: ttlSeconds });
  }
}

/** The parts of a Connection that Leases uses: three members, the stream on the preferred one. */
class FakeConnection {
  readonly addresses = ['m0', 'm1', 'm2'];
  readonly streams: FakeStream[] = [];
  readonly failedOver: string[] = [];
  preferred = 0;
  isClosed = false;
  constructor(private readonly reconnectWaitMs: number) {}
  get currentAddress(): string {
    return this.addresses[this.preferred]!;
  }
  stub(_service: string, address: string): unknown {
    return {
      LeaseKeepAlive: () => {
        const s = new FakeStream(address);
        this.streams.push(s);
        return s;
      },
    };
  }
  failover(address: string): void {
    this.failedOver.push(address);
    if (this.currentAddress === address) this.preferred = (this.preferred + 1) % this.addresses.length;
  }
  backoffMs(): number {
    return this.reconnectWaitMs;
  }
  get last(): FakeStream {
    return this.streams[this.streams.length - 1]!;
  }
}

const TTL_SECONDS = 15;
/** A third of the TTL, as the client renews. */
const INTERVAL_MS = 5_000;
/** Half an interval: how long a renewal may go unanswered. */
const STALL_MS = 2_500;

function keptLease(reconnectWaitMs: number) {
  const conn = new FakeConnection(reconnectWaitMs);
  const leases = new Leases(conn as unknown as Connection);
  const lease = leases.adopt(7, TTL_SECONDS, TTL_SECONDS);
  const lost: LeaseLostReason[] = [];
  lease.on('lost', (reason) => lost.push(reason));
  return { conn, leases, lease, lost };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a keep-alive stream whose member stops answering', () => {
  it('moves to the next member half an interval after an unanswered renewal, not an interval, and renews every kept lease there', () => {
    const { conn, leases, lease } = keptLease(10);
    const other = leases.adopt(8, TTL_SECONDS, TTL_SECONDS);
    const first = conn.last;
    expect(first.address).toBe('m0');
    first.answerAll(TTL_SECONDS);
    vi.advanceTimersByTime(INTERVAL_MS); // the second renewals: never answered
    expect(first.sent.sort()).toEqual([7, 8]);
    vi.advanceTimersByTime(STALL_MS - 1);
    expect(first.cancelled).toBe(false);
    vi.advanceTimersByTime(1);
    expect(first.cancelled).toBe(true);
    expect(conn.failedOver).toEqual(['m0']);
    vi.advanceTimersByTime(10); // the reconnection's wait
    expect(conn.streams).toHaveLength(2);
    expect(conn.last.address).toBe('m1');
    expect(conn.last.sent.sort()).toEqual([7, 8]);
    expect(lease.isLost || other.isLost).toBe(false);
    leases.close();
    // Nothing of either lease keeps running once the client closed them.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('extends the lease from when the renewal on the new stream was sent, not from its answer', () => {
    const { conn, leases, lease } = keptLease(10);
    conn.last.answerAll(TTL_SECONDS);
    vi.advanceTimersByTime(INTERVAL_MS + STALL_MS + 10);
    const second = conn.last;
    expect(second.sent).toEqual([7]);
    const answerDelayMs = 400;
    vi.advanceTimersByTime(answerDelayMs);
    second.answerAll(TTL_SECONDS);
    expect(lease.remainingMs).toBe(TTL_SECONDS * 1000 - answerDelayMs);
    leases.close();
  });

  it('sends nothing while it waits to reconnect, and does not leave the new stream at once', () => {
    // A wait that the interval's renewal (at 10 s) falls inside.
    const { conn, leases, lease } = keptLease(3_000);
    conn.last.answerAll(TTL_SECONDS);
    vi.advanceTimersByTime(INTERVAL_MS + STALL_MS); // t = 7.5 s: m0 left
    expect(conn.streams).toHaveLength(1);
    vi.advanceTimersByTime(2_999); // t = 10.499 s: the renewal at 10 s had no stream to go to
    expect(conn.streams).toHaveLength(1);
    vi.advanceTimersByTime(1); // t = 10.5 s: reconnected to m1, which is sent one renewal
    expect(conn.streams).toHaveLength(2);
    const second = conn.last;
    expect(second.sent).toEqual([7]);
    vi.advanceTimersByTime(STALL_MS - 1);
    expect(second.cancelled).toBe(false);
    second.answerAll(TTL_SECONDS);
    // Extended from the renewal sent at 10.5 s, past the 15 s the one at 0 s gave.
    vi.advanceTimersByTime(10_000);
    expect(lease.isLost).toBe(false);
    leases.close();
  });

  it('loses the lease at its TTL from the last answered renewal when no member answers', () => {
    const { conn, leases, lease, lost } = keptLease(10);
    conn.last.answerAll(TTL_SECONDS);
    vi.advanceTimersByTime(TTL_SECONDS * 1000 - 1);
    expect(lost).toEqual([]);
    // Every member it moved to stalled too: the moves extend nothing.
    expect(conn.streams.length).toBeGreaterThanOrEqual(3);
    expect(new Set(conn.streams.map((s) => s.address))).toEqual(new Set(['m0', 'm1', 'm2']));
    vi.advanceTimersByTime(1);
    expect(lost).toEqual(['expired']);
    expect(lease.isLost).toBe(true);
    leases.close();
  });
});
