/** Free loopback ports for tests: never the defaults 2379/2380, so tests and a running cluster never collide. */
import { freeLoopbackPort } from '../../cluster/processes.js';

/** A TCP port on 127.0.0.1 that was free a moment ago (cluster/'s own rule, shared). */
export const freePort: () => Promise<number> = freeLoopbackPort;

/** n distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}
