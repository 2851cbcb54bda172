/**
 * A three-member Cairn cluster for the benchmark, started through cluster/'s code path
 * (localTopology + spawnMember) with default settings on free loopback ports, data in a
 * temporary folder.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerEntry, spawnMember } from '../cluster/processes.js';
import { localTopology } from '../cluster/topology.js';
import { type BenchCluster, waitGone } from './cluster.js';

/** Starts three Cairn members on the given six ports (client, peer per member). */
export function startCairn(ports: readonly number[], entry: ServerEntry): BenchCluster {
  const root = mkdtempSync(join(tmpdir(), 'bench-cairn-'));
  const topo = localTopology(
    root,
    [0, 1, 2].map((i) => ({ client: ports[2 * i]!, peer: ports[2 * i + 1]! })),
    'bench-cairn',
  );
  const children: (ChildProcess | undefined)[] = [];
  const stderrTails: string[] = topo.members.map(() => '');
  const start = (i: number): void => {
    const m = topo.members[i]!;
    const child = spawnMember(topo, m, { entry, detached: false, extraFlags: ['--log-level=error'] });
    child.stdout?.resume();
    child.stderr?.on('data', (b: Buffer) => {
      stderrTails[i] = (stderrTails[i] + b.toString()).slice(-2000);
    });
    children[i] = child;
  };
  for (let i = 0; i < topo.members.length; i++) start(i);
  const alive = (i: number): ChildProcess | undefined => {
    const c = children[i];
    return c && c.exitCode === null && c.signalCode === null ? c : undefined;
  };
  let stopped = false;
  return {
    system: 'cairn',
    members: topo.members.map((m, i) => ({
      name: m.name,
      endpoint: `127.0.0.1:${m.clientPort}`,
      pid: () => alive(i)?.pid,
    })),
    async kill(i) {
      const c = alive(i);
      if (!c?.pid) return;
      c.kill('SIGKILL');
      await waitGone(c.pid);
    },
    restart(i) {
      if (!alive(i)) start(i);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(
        children.map(async (c, i) => {
          if (!c?.pid || !alive(i)) return;
          c.kill('SIGKILL');
          await waitGone(c.pid);
        }),
      );
      rmSync(root, { recursive: true, force: true });
    },
    killAllSync() {
      for (let i = 0; i < children.length; i++) alive(i)?.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    },
  };
}
