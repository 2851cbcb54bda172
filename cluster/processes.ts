/**
 * Starting and stopping member processes of a local cluster: the same code path for
 * cluster/start.sh, `npm start` and the end-to-end tests. Each member's data folder holds
 * its data, its log file (when detached) and its pid file.
 */
import { type ChildProcess, type SpawnOptionsWithoutStdio, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type JoinAs, type LocalMember, type LocalTopology, memberFlags } from './topology.js';

/** The repository root, whether this file runs from cluster/ (tsx) or dist/cluster/ (compiled). */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
})();

/** How to run the server: compiled JavaScript (scripts) or TypeScript source through tsx (tests). */
export type ServerEntry = 'dist' | 'source';

/**
 * Node flags for every member started from here, from CAIRN_MEMBER_NODE_FLAGS (space-separated),
 * e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a benchmark's members (Node refuses
 * --cpu-prof in NODE_OPTIONS).
 */
function memberNodeFlags(): string[] {
  return (process.env.CAIRN_MEMBER_NODE_FLAGS ?? '').split(' ').filter((f) => f.length > 0);
}

/** The command line that starts the server. */
export function serverCommand(entry: ServerEntry): { command: string; args: string[] } {
  if (entry === 'dist') {
    const main = join(REPO_ROOT, 'dist', 'src', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" (npm ci does it)`);
    return { command: process.execPath, args: [...memberNodeFlags(), main] };
  }
  return {
    command: process.execPath,
    args: [...memberNodeFlags(), '--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')],
  };
}

/** Where a member keeps its pid and log. */
export function pidFileOf(m: LocalMember): string {
  return join(m.dataDir, 'cairn.pid');
}

/** The log file of a detached member. */
export function logFileOf(m: LocalMember): string {
  return join(m.dataDir, 'cairn.log');
}

/** Options for starting one member. */
export interface SpawnOptions {
  readonly entry: ServerEntry;
  /** Detached: survives this process, output to the member's log file. Otherwise piped to the caller (or to logFile). */
  readonly detached: boolean;
  /** Not detached: the member's output is appended to this file instead of piped to the caller. */
  readonly logFile?: string;
  readonly extraFlags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Start the member as one joining the running cluster (it must have been added with MemberAdd). */
  readonly join?: JoinAs;
  /** A command the server runs under, e.g. ['ip', 'netns', 'exec', 'ns1'] (it must exec the server, keeping its pid). */
  readonly runUnder?: readonly string[];
}

/**
 * Starts a process whose output (stdout and stderr) is appended to logFile; this process keeps
 * no descriptor of the file (the child has its own copy).
 */
export function spawnLoggingTo(
  logFile: string,
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptionsWithoutStdio, 'stdio'>,
): ChildProcess {
  const log = openSync(logFile, 'a');
  try {
    return spawn(command, args, { ...options, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
}

/** Starts one member and records its pid. */
export function spawnMember(t: LocalTopology, m: LocalMember, opts: SpawnOptions): ChildProcess {
  mkdirSync(m.dataDir, { recursive: true });
  const server = serverCommand(opts.entry);
  const [command, ...args] = [...(opts.runUnder ?? []), server.command, ...server.args] as [
    string,
    ...string[],
  ];
  const env = { ...process.env, ...opts.env };
  const argv = [...args, ...memberFlags(t, m, opts.extraFlags, opts.join)];
  let child: ChildProcess;
  if (opts.detached) {
    child = spawnLoggingTo(logFileOf(m), command, argv, { cwd: REPO_ROOT, detached: true, env });
    child.unref();
  } else if (opts.logFile !== undefined) {
    child = spawnLoggingTo(opts.logFile, command, argv, { cwd: REPO_ROOT, env });
  } else {
    child = spawn(command, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  }
  if (child.pid === undefined) throw new Error(`could not start member ${m.name}`);
  writeFileSync(pidFileOf(m), `${child.pid}\n`);
  return child;
}

/** Whether a process with this pid is alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid recorded for a member, if its pid file exists. */
export function recordedPid(m: LocalMember): number | undefined {
  const f = pidFileOf(m);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Stops a member: SIGTERM, then SIGKILL if it has not exited within graceMs. Returns whether it was running. */
export async function stopMember(m: LocalMember, graceMs = 5000): Promise<boolean> {
  const pid = recordedPid(m);
  if (pid === undefined || !isAlive(pid)) {
    rmSync(pidFileOf(m), { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  rmSync(pidFileOf(m), { force: true });
  return true;
}

/** Resolves the data root from DATA_DIR (default ./data), relative to the current directory. */
export function dataRoot(env: Readonly<Record<string, string | undefined>>): string {
  return resolve(env.DATA_DIR ?? 'data');
}

/** Free loopback ports (below the ephemeral range); re-exported for the callers that start members. */
export { freeLoopbackPort } from './ports.js';
