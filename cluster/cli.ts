/**
 * The local cluster's command line: `start` (three members in the background, wait for a
 * leader, print the endpoints, exit), `stop` (every member under DATA_DIR, joined ones too),
 * `run` (the same cluster in the foreground with interleaved logs, stopped cleanly on
 * Ctrl-C), and `join <name> [--learner]` (adds a member with MemberAdd, then starts it on
 * free ports with --initial-cluster-state existing). DATA_DIR (default ./data) holds each
 * member's data, log and pid file.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { addMember } from './membership.js';
import {
  dataRoot,
  freeLoopbackPort,
  isAlive,
  logFileOf,
  recordedPid,
  spawnMember,
  stopMember,
} from './processes.js';
import { waitForLeader, waitForServing } from './readiness.js';
import { type LocalMember, localMember, localTopology } from './topology.js';

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m'];
const RESET = '\x1b[0m';

async function start(): Promise<number> {
  const t = localTopology(dataRoot(process.env));
  for (const m of t.members) {
    const pid = recordedPid(m);
    if (pid !== undefined && isAlive(pid)) {
      console.error(`member ${m.name} is already running (pid ${pid}); run cluster/stop.sh first`);
      return 1;
    }
  }
  for (const m of t.members) spawnMember(t, m, { entry: 'dist', detached: true });
  const endpoints = t.members.map((m) => m.clientUrl);
  try {
    const leader = await waitForLeader(
      endpoints,
      30_000,
      t.members.map((m) => m.name),
    );
    console.log(`cairn: 3 members running, leader ${leader.name}`);
  } catch (err) {
    console.error(`cairn: no leader elected: ${(err as Error).message}`);
    for (const m of t.members) console.error(`  log: ${logFileOf(m)}`);
    for (const m of t.members) await stopMember(m);
    return 1;
  }
  console.log(`endpoints: ${endpoints.join(',')}`);
  console.log(`data: ${t.rootDir}`);
  console.log(`try:   ETCDCTL_API=3 etcdctl --endpoints=${endpoints.join(',')} put hello world`);
  return 0;
}

/** Every member with a folder under the data root: the founding three and any that joined. */
function allMembers(rootDir: string): LocalMember[] {
  const t = localTopology(rootDir);
  const extra = existsSync(rootDir)
    ? readdirSync(rootDir).filter(
        (name) => !t.members.some((m) => m.name === name) && existsSync(join(rootDir, name, 'cairn.pid')),
      )
    : [];
  // Ports do not matter for stopping: the pid file does.
  return [...t.members, ...extra.map((name) => localMember(rootDir, name, { client: 0, peer: 0 }))];
}

async function stop(): Promise<number> {
  let stopped = 0;
  for (const m of allMembers(dataRoot(process.env))) if (await stopMember(m)) stopped++;
  console.log(`cairn: stopped ${stopped} member(s)`);
  return 0;
}

function pipeWithPrefix(child: ChildProcess, prefix: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix} ${line}\n`));
  }
}

async function run(): Promise<number> {
  const t = localTopology(dataRoot(process.env));
  const children = t.members.map((m, i) => {
    const child = spawnMember(t, m, { entry: 'dist', detached: false, env: { CAIRN_LOG_PRETTY: '1' } });
    pipeWithPrefix(child, `${COLORS[i % COLORS.length]}${m.name}${RESET} |`);
    return child;
  });
  const exited = children.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    console.log('\ncairn: stopping the cluster...');
    for (const c of children) c.kill('SIGTERM');
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  waitForLeader(
    t.members.map((m) => m.clientUrl),
    30_000,
    t.members.map((m) => m.name),
  ).then(
    (leader) =>
      console.log(
        `cairn: cluster ready, leader ${leader.name}; endpoints ${t.members.map((m) => m.clientUrl).join(',')} (Ctrl-C stops it)`,
      ),
    (err: Error) => console.error(`cairn: no leader yet: ${err.message}`),
  );
  await Promise.all(exited);
  for (const m of t.members) await stopMember(m);
  return 0;
}

async function joinCommand(): Promise<number> {
  const name = process.argv[3];
  const learner = process.argv.includes('--learner');
  if (!name || name.startsWith('-')) {
    console.error('usage: cluster/cli join <name> [--learner]');
    return 2;
  }
  const t = localTopology(dataRoot(process.env));
  const m = localMember(t.rootDir, name, {
    client: await freeLoopbackPort(),
    peer: await freeLoopbackPort(),
  });
  const endpoints = t.members.map((x) => x.clientUrl);
  const added = await addMember(endpoints, [m.peerUrl], learner);
  const existing = added.members.map((x) => ({
    name: x.id === added.id ? name : x.name,
    peerUrl: x.peerUrls[0]!,
  }));
  spawnMember(t, m, { entry: 'dist', detached: true, join: { existing } });
  await waitForServing(m.clientUrl, 30_000);
  console.log(`cairn: ${name} joined as ${learner ? 'learner' : 'voter'} ${added.id.toString(16)}`);
  console.log(`client: ${m.clientUrl}  peer: ${m.peerUrl}  log: ${logFileOf(m)}`);
  return 0;
}

const commands: Record<string, () => Promise<number>> = { start, stop, run, join: joinCommand };
const cmd = process.argv[2] ?? '';
const fn = commands[cmd];
if (!fn) {
  console.error(
    'usage: cluster/cli <start|stop|run|join <name> [--learner]>   (DATA_DIR selects the data folder, default ./data)',
  );
  process.exit(2);
}
fn().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
