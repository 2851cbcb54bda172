/**
 * A real three-member etcd cluster (Debian's etcd-server) on free loopback ports, for
 * side-by-side benchmarks: same machine, same client, same workload as Cairn.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The etcd binary Debian's etcd-server installs. */
export const ETCD_BINARY = '/usr/bin/etcd';

/** A running etcd cluster. */
export interface EtcdCluster {
  readonly endpoints: readonly string[];
  stop(): Promise<void>;
}

/** Starts three etcd members with their default durability (fsync on every commit). */
export function startEtcd(ports: readonly number[]): EtcdCluster {
  if (!existsSync(ETCD_BINARY)) throw new Error(`${ETCD_BINARY} is missing: apt-get install -y etcd-server`);
  const root = mkdtempSync(join(tmpdir(), 'bench-etcd-'));
  const members = [0, 1, 2].map((i) => ({
    name: `e${i + 1}`,
    client: ports[2 * i]!,
    peer: ports[2 * i + 1]!,
  }));
  const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const procs: ChildProcess[] = members.map((m) =>
    spawn(
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
        '--log-level=error',
      ],
      { stdio: 'ignore' },
    ),
  );
  return {
    endpoints: members.map((m) => `http://127.0.0.1:${m.client}`),
    async stop() {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.exitCode !== null) return resolve();
              p.once('exit', () => resolve());
              p.kill('SIGKILL');
            }),
        ),
      );
      rmSync(root, { recursive: true, force: true });
    },
  };
}
