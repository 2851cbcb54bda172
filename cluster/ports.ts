/**
 * Free loopback ports for local members, tests and proxies. A port from bind(0) lies in the
 * kernel's ephemeral range, where any outgoing connection may take it as its source port
 * between our check and the member's listen (a test once lost a member to EADDRINUSE that
 * way). So ports come from below the ephemeral range, where the kernel never picks, and each
 * process walks its own slice of that range (by vitest worker), so parallel test files do
 * not hand out the same port either.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The default ports of a local cluster (client, peer, metrics), which tests and joining members must not take. */
export const RESERVED_PORTS: ReadonlySet<number> = new Set([
  2379, 2380, 2381, 22379, 22380, 22381, 32379, 32380, 32381,
]);

/** Lowest port handed out (well above the registered services people run locally). */
const LOW_PORT = 12_000;
/** Number of slices the range is cut into: one per vitest worker, slice 0 for other processes. */
const SLICES = 9;

/** The first port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralLowPort(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOW_PORT + SLICES * 100 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** This process's slice of [LOW_PORT, ephemeral low) and the next port to try in it. */
const slice = (() => {
  const width = Math.floor((ephemeralLowPort() - LOW_PORT) / SLICES);
  const pool = Number(process.env.VITEST_POOL_ID ?? 0);
  const index = Number.isInteger(pool) && pool > 0 ? pool % SLICES : 0;
  const start = LOW_PORT + index * width;
  return { start, width, next: Math.floor(Math.random() * width) };
})();

/** Whether 127.0.0.1:port can be listened on right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago, never a default port, never one this process handed out recently. */
export async function freeLoopbackPort(): Promise<number> {
  for (let tried = 0; tried < slice.width; tried++) {
    const port = slice.start + (slice.next % slice.width);
    slice.next = (slice.next + 1) % slice.width;
    if (!RESERVED_PORTS.has(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free loopback port in ${slice.start}..${slice.start + slice.width - 1}`);
}
