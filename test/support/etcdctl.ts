/**
 * Runs Debian's etcdctl 3.4 against a test cluster's members and returns what it printed
 * and its exit code (never throws for a nonzero exit), for the compatibility tests.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian's etcd-client installs etcdctl. */
export const ETCDCTL = '/usr/bin/etcdctl';
/** Whether etcdctl is installed (.ci/run installs it). */
export const hasEtcdctl = existsSync(ETCDCTL);

/** What one etcdctl run printed. */
export interface EtcdctlResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs etcdctl with the v3 API against the given client endpoints (host:port or URLs), optionally with stdin. */
export async function etcdctl(
  endpoints: readonly string[],
  args: readonly string[],
  input?: string,
): Promise<EtcdctlResult> {
  const child = run(ETCDCTL, [`--endpoints=${endpoints.join(',')}`, '--command-timeout=10s', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 30_000,
  });
  if (input !== undefined) {
    child.child.stdin?.write(input);
    child.child.stdin?.end();
  }
  try {
    const { stdout, stderr } = await child;
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}

export { eventually } from './eventually.js';
