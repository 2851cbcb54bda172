/** Runs the real cairnctl (compiled or source, as test/support/entry.ts says) as a child process and collects what it printed. */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestCluster } from '../support/cluster.js';
import { programArgs } from '../support/entry.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What one run printed and its exit code. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs cairnctl with `args`; `stdin` is written then closed; env adds to a colourless environment. */
export function cairnctl(
  args: readonly string[],
  options: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [...programArgs('src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', CAIRN_ENDPOINTS: '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, options);
}

/** Feeds a child its stdin and resolves, once it closes, with its exit code and output; SIGKILL after the timeout. */
function collect(
  child: ChildProcessWithoutNullStreams,
  options: { stdin?: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** A cairnctl running in the background: what it printed so far, and how to stop it. */
export interface BackgroundCli {
  /** Everything it printed to stdout so far. */
  stdout(): string;
  /** Everything it printed to stderr so far. */
  stderr(): string;
  /** Resolves once stdout matches `pattern`; rejects when it exits first or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the result once it exits. */
  readonly exited: Promise<CliResult>;
  /** Sends `signal` (default SIGINT, as Ctrl-C) and resolves with the result once it exits. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  /** SIGKILLs it if it still runs (for afterEach/afterAll). */
  kill(): void;
}

/** Starts cairnctl with `args` in the background (a SIGKILL after killAfterMs at the latest). */
export function startCairnctl(
  args: readonly string[],
  options: { env?: Record<string, string>; killAfterMs?: number } = {},
): BackgroundCli {
  const child = spawn(process.execPath, [...programArgs('src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', CAIRN_ENDPOINTS: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const l of [...listeners]) l();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 50_000);
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
      for (const l of [...listeners]) l();
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(stdout);
          if (m) done(() => resolve(m));
          else if (!running())
            done(() => reject(new Error(`cairnctl exited before ${pattern}: ${stdout}${stderr}`)));
        };
        const t = setTimeout(
          () => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms: ${stdout}${stderr}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(t);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    stop(signal = 'SIGINT') {
      if (running()) child.kill(signal);
      return exited;
    },
    kill() {
      if (running()) child.kill('SIGKILL');
    },
  };
}

/** Whether util-linux `script` is here to give cairnctl a pseudo-terminal. */
export function canRunOnTerminal(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs cairnctl on a pseudo-terminal (util-linux `script`), so stdin and stdout are TTYs as in
 * an operator's shell: colour is on unless NO_COLOR is in `env`. What it printed (stdout and
 * stderr, as one terminal shows them, lines ending \r\n) comes back as stdout; `stdin` is
 * typed into the terminal (echoed back, as a terminal does).
 */
export function cairnctlOnTerminal(
  args: readonly string[],
  options: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const line = [process.execPath, ...programArgs('src/cli/main.ts'), ...args].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, CAIRN_ENDPOINTS: '', ...options.env };
  if (options.env?.NO_COLOR === undefined) delete env.NO_COLOR;
  // -e: script exits with the command's code; -f: flush as it goes; -q: no banner.
  const child = spawn('script', ['-qefc', line, '/dev/null'], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, options);
}

/** Starts a three-member TestCluster for cairnctl tests, waits for its leader, and gives the environment that points cairnctl at it. */
export async function clusterForCli(): Promise<{ cluster: TestCluster; env: Record<string, string> }> {
  const cluster = await TestCluster.start();
  await cluster.leaderName(45_000);
  return { cluster, env: { CAIRN_ENDPOINTS: cluster.endpoints().join(',') } };
}
