/**
 * Proves that a linearizable read survives a lost ReadIndex request: the loop asks again
 * (with a fresh context) every resend interval while its round is unanswered, so once the
 * path to the leader works again the read is served at once, not after the whole request
 * timeout (found by the chaos lock workload: after a one-way partition of a member ended, its
 * reads, and the lock waiters behind them, stalled for seconds); and an answer to any request
 * of the round serves it. Fake timers and a fake host that answers only what the test says.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReadIndexLoop } from '../../src/node/read-index-loop.js';

const TIMEOUT_MS = 7000;
const RESEND_MS = 500;

class FakeHost {
  readonly asked: Uint8Array[] = [];
  requestReadIndex(context: Uint8Array): void {
    this.asked.push(context);
  }
  async waitApplied(): Promise<void> {}
}

function outcome(p: Promise<void>): { state: 'pending' | 'served' | 'failed' } {
  const o: { state: 'pending' | 'served' | 'failed' } = { state: 'pending' };
  p.then(
    () => {
      o.state = 'served';
    },
    () => {
      o.state = 'failed';
    },
  );
  return o;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('read index loop', () => {
  it('asks again while a round is unanswered, and the answer to the new request serves the read', async () => {
    const host = new FakeHost();
    const loop = new ReadIndexLoop(host, TIMEOUT_MS, 100, 1, RESEND_MS);
    const read = outcome(loop.read());
    expect(host.asked).toHaveLength(1); // this request is lost
    await vi.advanceTimersByTimeAsync(RESEND_MS * 2);
    expect(host.asked.length).toBeGreaterThanOrEqual(2);
    expect(read.state).toBe('pending');
    loop.onReadState({ index: 10, context: host.asked.at(-1)! });
    await vi.advanceTimersByTimeAsync(0);
    expect(read.state).toBe('served');
    loop.stop();
  });

  it('takes a late answer to an earlier request of the round', async () => {
    const host = new FakeHost();
    const loop = new ReadIndexLoop(host, TIMEOUT_MS, 100, 1, RESEND_MS);
    const read = outcome(loop.read());
    await vi.advanceTimersByTimeAsync(RESEND_MS * 3);
    loop.onReadState({ index: 10, context: host.asked[0]! });
    await vi.advanceTimersByTimeAsync(0);
    expect(read.state).toBe('served');
    loop.stop();
  });

  it('still fails with TIMEOUT when no request is ever answered', async () => {
    const host = new FakeHost();
    const loop = new ReadIndexLoop(host, TIMEOUT_MS, 100, 1, RESEND_MS);
    const p = loop.read();
    p.catch(() => {});
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    await expect(p).rejects.toMatchObject({ code: 'TIMEOUT' });
    loop.stop();
  });
});
