/**
 * A three-member Cairn cluster for the benchmark, started through cluster/'s code path
 * (localTopology + spawnMember) with default settings on free loopback ports, data in a
 * temporary folder, each member's log (level info: elections, leader changes, snapshots)
 * appended to cairn-<name>.log in the run's log folder.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerEntry, spawnMember } from '../cluster/processes.js';
import { localTopology } from '../cluster/topology.js';
import { type BenchCluster, processCluster } from './cluster.js';

/** Starts three Cairn members on the given six ports (client, peer per member), logging into logDir. */
export function startCairn(ports: readonly number[], entry: ServerEntry, logDir: string): BenchCluster {
  const root = mkdtempSync(join(tmpdir(), 'bench-cairn-'));
  const topo = localTopology(
    root,
    [0, 1, 2].map((i) => ({ client: ports[2 * i]!, peer: ports[2 * i + 1]! })),
    'bench-cairn',
  );
  const children: (ChildProcess | undefined)[] = [];
  const start = (i: number): void => {
    const m = topo.members[i]!;
    children[i] = spawnMember(topo, m, {
      entry,
      detached: false,
      logFile: join(logDir, `cairn-${m.name}.log`),
      extraFlags: ['--log-level=info'],
    });
  };
  for (let i = 0; i < topo.members.length; i++) start(i);
  return processCluster(
    'cairn',
    topo.members.map((m) => ({ name: m.name, clientPort: m.clientPort })),
    children,
    start,
    root,
  );
}
