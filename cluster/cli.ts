/**
 * The local cluster's command line: `start` (three members in the background, wait for a
 * leader, print the endpoints, exit), `stop` (every member under DATA_DIR, joined ones too),
 * `run` (the same cluster in the foreground with interleaved logs, stopped cleanly on
 * Ctrl-C), and `join <name> [--learner]` (adds a member with MemberAdd, then starts it on
 * free ports with --initial-cluster-state existing). DATA_DIR (default ./data) holds each
 * member's data, log and pid file. `--tls` (start, run) makes a CA and certificates with
 * openssl (once, under DATA_DIR/tls/certs) and serves https to clients and peers with
 * client-cert-auth on; that cluster lives under DATA_DIR/tls.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureClusterCerts, hasOpenssl } from './certs.js';
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
import {
  DEFAULT_PORTS,
  type LocalMember,
  type LocalTopology,
  localMember,
  localTopology,
  memberNames,
  tlsRootOf,
} from './topology.js';

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m'];
const RESET = '\x1b[0m';

/** The plain cluster, or the TLS one with its certificates made if missing. */
function topologyOf(tls: boolean): LocalTopology {
  const root = dataRoot(process.env);
  if (!tls) return localTopology(root);
  if (!hasOpenssl()) throw new Error('cairn: --tls needs openssl on the PATH to make the certificates');
  const { rootDir, certDir } = tlsRootOf(root);
  return localTopology(rootDir, DEFAULT_PORTS, 'cairn-local', ensureClusterCerts(certDir, memberNames()));
}

/** The client certificate files readiness probes dial a TLS cluster with. */
function probeTls(t: LocalTopology): { caFile?: string; certFile?: string; keyFile?: string } {
  return t.tls ? { caFile: t.tls.caFile, ...t.tls.client } : {};
}

/** Where each member's dashboard and metrics are (the metrics listener is plain http). */
function observabilityHint(t: LocalTopology): string {
  const withMetrics = t.members.filter((m) => m.metricsUrl !== undefined);
  if (withMetrics.length === 0) return '';
  const dashboards = withMetrics.map((m) => `${m.metricsUrl}/dashboard`).join('  ');
  return `dashboard: ${dashboards}\nmetrics:   ${withMetrics.map((m) => `${m.metricsUrl}/metrics`).join('  ')}\n`;
}

/** How to reach the cluster with etcdctl. */
function etcdctlHint(t: LocalTopology, endpoints: readonly string[]): string {
  const tls = t.tls
    ? ` --cacert=${t.tls.caFile} --cert=${t.tls.client.certFile} --key=${t.tls.client.keyFile}`
    : '';
  return `ETCDCTL_API=3 etcdctl --endpoints=${endpoints.join(',')}${tls} put hello world`;
}

async function start(tls: boolean): Promise<number> {
  const t = topologyOf(tls);
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
      probeTls(t),
    );
    console.log(`cairn: 3 members running, leader ${leader.name}`);
  } catch (err) {
    console.error(`cairn: no leader elected: ${(err as Error).message}`);
    for (const m of t.members) console.error(`  log: ${logFileOf(m)}`);
    for (const m of t.members) await stopMember(m);
    return 1;
  }
  console.log(`endpoints: ${endpoints.join(',')}`);
  process.stdout.write(observabilityHint(t));
  console.log(`data: ${t.rootDir}`);
  if (t.tls) console.log(`certificates: ${t.tls.dir}`);
  console.log(`try:   ${etcdctlHint(t, endpoints)}`);
  return 0;
}

/** Every member with a folder under a data root: the founding three and any that joined. */
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

/** Stops the plain cluster and the TLS one, whichever runs, joined members included. */
async function stop(): Promise<number> {
  const root = dataRoot(process.env);
  let stopped = 0;
  for (const dir of [root, tlsRootOf(root).rootDir])
    for (const m of allMembers(dir)) if (await stopMember(m)) stopped++;
  console.log(`cairn: stopped ${stopped} member(s)`);
  return 0;
}

function pipeWithPrefix(child: ChildProcess, prefix: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix} ${line}\n`));
  }
}

async function run(tls: boolean): Promise<number> {
  const t = topologyOf(tls);
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
  const endpoints = t.members.map((m) => m.clientUrl);
  waitForLeader(
    endpoints,
    30_000,
    t.members.map((m) => m.name),
    probeTls(t),
  ).then(
    (leader) =>
      console.log(
        `cairn: cluster ready, leader ${leader.name}; endpoints ${endpoints.join(',')} (Ctrl-C stops it)\n` +
          `cairn: try ${etcdctlHint(t, endpoints)}\n` +
          observabilityHint(t)
            .trimEnd()
            .replace(/^(?=.)/gm, 'cairn: '),
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

const commands: Record<string, (tls: boolean) => Promise<number>> = { start, stop, run, join: joinCommand };
const cmd = process.argv[2] ?? '';
const fn = commands[cmd];
const options = process.argv.slice(3);
const unknown = cmd === 'join' ? [] : options.filter((o) => o !== '--tls');
if (!fn || unknown.length > 0 || (cmd === 'stop' && options.length > 0)) {
  console.error(
    'usage: cluster/cli <start [--tls]|stop|run [--tls]|join <name> [--learner]>   (DATA_DIR selects the data folder, default ./data)',
  );
  process.exit(2);
}
fn(options.includes('--tls')).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
