/**
 * Proves a pair proxy forwards bytes both ways, that cutting it resets open connections and
 * black-holes new ones (accepted, never forwarded, never answered), and that healing makes
 * it forward again; that a slowed proxy holds bytes for at least its latency each way and
 * keeps their order under jitter; and that a one-way cut of the network loses one
 * direction between two members only; with local echo servers as the members behind it.
 */
import { createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PairProxy, PeerNetwork } from './proxy.js';

function echoServer(): Promise<{ server: Server; port: number; received: () => number }> {
  let bytes = 0;
  const server = createServer((s) => {
    s.on('data', (d) => {
      bytes += d.length;
      s.write(d);
    });
    s.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0, received: () => bytes });
    }),
  );
}

/** Sends `text` through the proxy and waits up to waitMs for the echo; the echo, or undefined. */
function roundTrip(port: number, text: string, waitMs: number): Promise<{ echo?: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = new Socket();
    let echo = '';
    let closed = false;
    s.on('error', () => {});
    s.on('data', (d) => {
      echo += d.toString();
      if (echo === text) {
        s.destroy();
        resolve({ echo, closed });
      }
    });
    s.on('close', () => {
      closed = true;
    });
    s.connect(port, '127.0.0.1', () => s.write(text));
    setTimeout(() => {
      s.destroy();
      resolve(echo === '' ? { closed } : { echo, closed });
    }, waitMs);
  });
}

describe('PairProxy', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('forwards, black-holes while cut, forwards again once healed', async () => {
    const echo = await echoServer();
    cleanup.push(() => new Promise<void>((r) => echo.server.close(() => r())));
    const proxy = new PairProxy('n1', 'n2', echo.port);
    await proxy.start();
    cleanup.push(() => proxy.close());

    expect((await roundTrip(proxy.port, 'hello', 2000)).echo).toBe('hello');

    const before = echo.received();
    proxy.block();
    const cut = await roundTrip(proxy.port, 'lost', 300);
    expect(cut.echo).toBeUndefined();
    expect(echo.received()).toBe(before);

    proxy.heal();
    expect((await roundTrip(proxy.port, 'again', 2000)).echo).toBe('again');
    expect(proxy.accepted).toBe(3);
  });

  it('resets connections that are open when the path is cut', async () => {
    const echo = await echoServer();
    cleanup.push(() => new Promise<void>((r) => echo.server.close(() => r())));
    const proxy = new PairProxy('n1', 'n2', echo.port);
    await proxy.start();
    cleanup.push(() => proxy.close());
    const s = new Socket();
    s.on('error', () => {});
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    await new Promise<void>((r) => s.connect(proxy.port, '127.0.0.1', () => r()));
    s.write('x');
    await new Promise<void>((r) => s.once('data', () => r()));
    proxy.block();
    await closed;
    expect(s.destroyed).toBe(true);
  });

  it('holds bytes for its latency each way, keeps their order under jitter, and heals', async () => {
    const echo = await echoServer();
    cleanup.push(() => new Promise<void>((r) => echo.server.close(() => r())));
    const proxy = new PairProxy('n1', 'n2', echo.port);
    await proxy.start();
    cleanup.push(() => proxy.close());

    proxy.slow(150, 0);
    expect(proxy.isSlow).toBe(true);
    const t0 = performance.now();
    expect((await roundTrip(proxy.port, 'slow', 5000)).echo).toBe('slow');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);

    // Many small writes with a jitter larger than the gap between them: order must survive.
    proxy.slow(5, 60);
    const s = new Socket();
    s.on('error', () => {});
    let got = '';
    await new Promise<void>((r) => s.connect(proxy.port, '127.0.0.1', () => r()));
    const parts = Array.from({ length: 40 }, (_, i) => `<${i}>`);
    const all = parts.join('');
    const done = new Promise<void>((r) =>
      s.on('data', (d) => {
        got += d.toString();
        if (got.length >= all.length) r();
      }),
    );
    for (const p of parts) {
      s.write(p);
      await new Promise((r) => setTimeout(r, 2));
    }
    await done;
    s.destroy();
    expect(got).toBe(all);

    proxy.heal();
    expect(proxy.isSlow).toBe(false);
    expect((await roundTrip(proxy.port, 'fast', 2000)).echo).toBe('fast');
  });

  it('a one-way cut loses one direction only, and healing restores it', async () => {
    const a = await echoServer();
    const b = await echoServer();
    cleanup.push(() => new Promise<void>((r) => a.server.close(() => r())));
    cleanup.push(() => new Promise<void>((r) => b.server.close(() => r())));
    const net = new PeerNetwork(
      new Map([
        ['a', a.port],
        ['b', b.port],
      ]),
    );
    await net.start();
    cleanup.push(() => net.close());
    const url = (n: string) => `http://peer-${n}`;
    const portOf = (from: string, to: string) => Number(new URL(net.dialTable(from, url)[url(to)]!).port);

    net.cutOneWay('a', ['b']);
    expect((await roundTrip(portOf('a', 'b'), 'a->b', 300)).echo).toBeUndefined();
    expect((await roundTrip(portOf('b', 'a'), 'b->a', 2000)).echo).toBe('b->a');
    net.healAll();
    expect((await roundTrip(portOf('a', 'b'), 'a->b', 2000)).echo).toBe('a->b');
  });
});
