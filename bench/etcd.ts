/**
 * A real three-member etcd cluster (Debian's etcd-server) on free loopback ports, for the
 * side-by-side benchmark: default settings (election timing, quota, fsync on every commit),
 * data in a temporary folder that stop() removes, each member's log (level info, as Cairn's)
 * appended to etcd-<name>.log in the run's log folder.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnLoggingTo } from '../cluster/processes.js';
import { type BenchCluster, processCluster } from './cluster.js';

/** The etcd binary Debian's etcd-server installs. */
export const ETCD_BINARY = '/usr/bin/etcd';

/** Whether etcd is installed here. */
export function etcdAvailable(): boolean {
  return existsSync(ETCD_BINARY);
}

/** Starts three etcd members on the given six ports (client, peer per member), logging into logDir. */
export function startEtcd(ports: readonly number[], logDir: string): BenchCluster {
  if (!etcdAvailable()) throw new Error(`${ETCD_BINARY} is missing: apt-get install -y etcd-server`);
  const root = mkdtempSync(join(tmpdir(), 'bench-etcd-'));
  const members = [0, 1, 2].map((i) => ({
    name: `e${i + 1}`,
    client: ports[2 * i]!,
    peer: ports[2 * i + 1]!,
  }));
  const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const children: (ChildProcess | undefined)[] = [];
  const start = (i: number): void => {
    const m = members[i]!;
    children[i] = spawnLoggingTo(
      join(logDir, `etcd-${m.name}.log`),
      ETCD_BINARY,
      [
        `--name=${m.name}`,
        `--data-dir=${join(root, m.name)}`,
        `--listen-client-urls=http://127.0.0.1:${m.client}`,
        `--advertise-client-urls=http://127.0.0.1:${m.client}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-cluster=${initial}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=bench-etcd',
        '--logger=zap',
        '--log-level=info',
      ],
      {},
    );
  };
  for (let i = 0; i < members.length; i++) start(i);
  return processCluster(
    'etcd',
    members.map((m) => ({ name: m.name, clientPort: m.client })),
    children,
    start,
    root,
  );
}
