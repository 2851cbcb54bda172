/**
 * Three hosts on one machine: three network namespaces, each with its own address
 * (<subnet>.1-3/24 on a veth pair whose other end is in a bridge, which has <subnet>.254 so
 * this namespace can reach them), and one member in each, started inside it with
 * `ip netns exec` over TLS (certificates from certs.ts carry the hosts' IP SANs). A host is
 * cut off by taking its veth down on the bridge side, as pulling its cable would. Teardown
 * stops the members (SIGTERM, then SIGKILL), kills anything left in the namespaces, deletes
 * the namespaces, veths and bridge, each step bounded; it also runs, synchronously, when the
 * process exits. Needs root and iproute2. Every name carries a random id, so runs never meet.
 *
 *   node --import tsx cluster/netns.ts run [--subnet 10.77.0] [--dir DIR]   (Ctrl-C tears down)
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClusterCerts, hasOpenssl } from './certs.js';
import { type ServerEntry, spawnMember } from './processes.js';
import { waitForLeader } from './readiness.js';
import type { LocalMember, LocalTopology } from './topology.js';

/** How long one `ip` command may take. */
const IP_TIMEOUT_MS = 5_000;
/** How long members get to stop after SIGTERM, then after SIGKILL. */
const STOP_GRACE_MS = 3_000;
const KILL_WAIT_MS = 2_000;

/** One host: its namespace, address, the bridge side of its link, and the member it runs. */
export interface NetnsHost {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  /** The veth end on the bridge (in this namespace): down cuts the host off. */
  readonly bridgeLink: string;
  readonly member: LocalMember;
}

/** What to start. */
export interface ThreeHostsOptions {
  /** Folder for data and certificates (created; removed by teardown when it was made here). */
  readonly rootDir?: string;
  /** First three octets of the /24 (default 10.77.0); refused if this machine already has it. */
  readonly subnet?: string;
  readonly clientPort?: number;
  readonly peerPort?: number;
  /** Source (tsx) for tests, dist for scripts. */
  readonly entry?: ServerEntry;
  readonly extraFlags?: readonly string[];
  /** Called with each member's output lines (default: discarded). */
  readonly onOutput?: (member: string, line: string) => void;
}

/** A running three-host cluster. */
export interface ThreeHosts {
  readonly id: string;
  readonly hosts: readonly NetnsHost[];
  readonly topology: LocalTopology;
  /** TLS files a client dials the members with. */
  readonly clientTls: { caFile: string; certFile: string; keyFile: string };
  /** Client URLs (https://address:port) of some hosts (default all). */
  clientUrls(names?: readonly string[]): string[];
  /** Takes a host's link down: it can reach no one and no one reaches it. */
  cut(name: string): void;
  /** Brings its link back up. */
  heal(name: string): void;
  /** Stops the members and removes namespaces, links and bridge (and rootDir if made here). Idempotent. */
  teardown(): Promise<void>;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { timeout: IP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Why three hosts cannot be made here (not root, no `ip netns`), or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, veth, bridge)';
  try {
    ip(['netns', 'list']);
  } catch (err) {
    return `\`ip netns\` is unavailable: ${(err as Error).message.split('\n')[0]}`;
  }
  if (!hasOpenssl()) return 'needs openssl for the TLS certificates';
  return undefined;
}

/** Whether this machine already has an address in subnet.0/24 (in this namespace). */
function subnetInUse(subnet: string): boolean {
  return ip(['-o', '-4', 'addr', 'show']).includes(` ${subnet}.`);
}

/** Names of everything one run makes (interface names stay under Linux's 15 characters). */
function namesOf(id: string) {
  return {
    bridge: `cb${id}`,
    namespace: (i: number) => `cairn-${id}-h${i}`,
    bridgeLink: (i: number) => `c${id}b${i}`,
    hostLink: (i: number) => `c${id}h${i}`,
  };
}

/** Removes whatever of run `id` exists: processes left in its namespaces, namespaces, links, bridge. Never throws. */
export function removeNetwork(id: string, count = 3): void {
  const n = namesOf(id);
  const quietly = (args: readonly string[]) => {
    try {
      return ip(args);
    } catch {
      return '';
    }
  };
  for (let i = 1; i <= count; i++) {
    // Processes still inside one of this run's namespaces were started by this run.
    for (const pid of quietly(['netns', 'pids', n.namespace(i)])
      .split(/\s+/)
      .filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    quietly(['netns', 'del', n.namespace(i)]);
    quietly(['link', 'del', n.bridgeLink(i)]);
  }
  quietly(['link', 'del', n.bridge]);
}

/** Creates the bridge, the namespaces and their links, with addresses; undoes what it made if a step fails. */
function createNetwork(id: string, subnet: string, count: number): void {
  const n = namesOf(id);
  try {
    ip(['link', 'add', n.bridge, 'type', 'bridge']);
    ip(['addr', 'add', `${subnet}.254/24`, 'dev', n.bridge]);
    ip(['link', 'set', n.bridge, 'up']);
    for (let i = 1; i <= count; i++) {
      const ns = n.namespace(i);
      ip(['netns', 'add', ns]);
      ip(['link', 'add', n.bridgeLink(i), 'type', 'veth', 'peer', 'name', n.hostLink(i)]);
      ip(['link', 'set', n.hostLink(i), 'netns', ns]);
      ip(['link', 'set', n.bridgeLink(i), 'master', n.bridge]);
      ip(['link', 'set', n.bridgeLink(i), 'up']);
      ip(['-n', ns, 'addr', 'add', `${subnet}.${i}/24`, 'dev', n.hostLink(i)]);
      ip(['-n', ns, 'link', 'set', n.hostLink(i), 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (err) {
    removeNetwork(id, count);
    throw err;
  }
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

async function waitExit(p: ChildProcess, ms: number): Promise<void> {
  if (exited(p)) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Starts three hosts and a member on each; resolves once a leader is elected. */
export async function startThreeHosts(opts: ThreeHostsOptions = {}): Promise<ThreeHosts> {
  const reason = netnsUnavailable();
  if (reason) throw new Error(`cannot make three hosts: ${reason}`);
  const subnet = opts.subnet ?? '10.77.0';
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new Error(`--subnet ${subnet}: give three octets`);
  if (subnetInUse(subnet))
    throw new Error(`${subnet}.0/24 is already used on this machine: pick another --subnet`);
  const id = randomBytes(3).toString('hex');
  const ownRoot = opts.rootDir === undefined;
  const rootDir = opts.rootDir ?? mkdtempSync(join(tmpdir(), `cairn-netns-${id}-`));
  mkdirSync(rootDir, { recursive: true });
  const clientPort = opts.clientPort ?? 2379;
  const peerPort = opts.peerPort ?? 2380;
  const names = ['n1', 'n2', 'n3'];
  const n = namesOf(id);
  const processes = new Map<string, ChildProcess>();
  let tornDown = false;

  const removeAllSync = () => {
    for (const p of processes.values()) if (!exited(p)) p.kill('SIGKILL');
    removeNetwork(id, names.length);
    if (ownRoot) rmSync(rootDir, { recursive: true, force: true });
  };
  const onExit = () => {
    if (!tornDown) removeAllSync();
  };
  process.once('exit', onExit);

  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    process.removeListener('exit', onExit);
    const running = [...processes.values()].filter((p) => !exited(p));
    for (const p of running) p.kill('SIGTERM');
    await Promise.all(running.map((p) => waitExit(p, STOP_GRACE_MS)));
    for (const p of running) if (!exited(p)) p.kill('SIGKILL');
    await Promise.all(running.map((p) => waitExit(p, KILL_WAIT_MS)));
    removeAllSync();
  };

  try {
    createNetwork(id, subnet, names.length);
    const address = (i: number) => `${subnet}.${i + 1}`;
    const certs = ensureClusterCerts(
      join(rootDir, 'certs'),
      names,
      Object.fromEntries(names.map((name, i) => [name, [address(i)]])),
    );
    const members: LocalMember[] = names.map((name, i) => ({
      name,
      clientPort,
      peerPort,
      dataDir: join(rootDir, name),
      clientUrl: `https://${address(i)}:${clientPort}`,
      peerUrl: `https://${address(i)}:${peerPort}`,
    }));
    const topology: LocalTopology = { members, token: `cairn-netns-${id}`, rootDir, tls: certs };
    const hosts: NetnsHost[] = members.map((member, i) => ({
      name: member.name,
      namespace: n.namespace(i + 1),
      address: address(i),
      bridgeLink: n.bridgeLink(i + 1),
      member,
    }));
    for (const h of hosts) {
      const child = spawnMember(topology, h.member, {
        entry: opts.entry ?? 'source',
        detached: false,
        extraFlags: opts.extraFlags ?? [],
        runUnder: ['ip', 'netns', 'exec', h.namespace],
      });
      for (const stream of [child.stdout, child.stderr]) {
        let partial = '';
        stream?.on('data', (b: Buffer) => {
          const lines = (partial + b.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) opts.onOutput?.(h.name, line);
        });
      }
      processes.set(h.name, child);
    }
    const clientTls = { caFile: certs.caFile, ...certs.client };
    await waitForLeader(
      members.map((m) => m.clientUrl),
      60_000,
      names,
      clientTls,
    );
    const host = (name: string) => {
      const h = hosts.find((x) => x.name === name);
      if (!h) throw new Error(`no host ${name}`);
      return h;
    };
    return {
      id,
      hosts,
      topology,
      clientTls,
      clientUrls: (which = names) => which.map((name) => host(name).member.clientUrl),
      cut: (name) => void ip(['link', 'set', host(name).bridgeLink, 'down']),
      heal: (name) => void ip(['link', 'set', host(name).bridgeLink, 'up']),
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  const flag = (name: string) => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (command !== 'run') {
    console.log(
      'usage: npm run start:hosts -- [--subnet 10.77.0] [--dir DIR]   (as root; Ctrl-C stops and removes everything)',
    );
    process.exitCode = command === undefined || command === 'help' ? 0 : 2;
    return;
  }
  const subnet = flag('subnet');
  const dir = flag('dir');
  const hosts = await startThreeHosts({
    // Compiled (npm run start:hosts) runs the compiled server; through tsx, the source.
    entry: import.meta.url.endsWith('.js') ? 'dist' : 'source',
    ...(subnet ? { subnet } : {}),
    ...(dir ? { rootDir: dir } : {}),
    onOutput: (member, line) => console.log(`${member}| ${line}`),
  });
  const stop = () => {
    hosts.teardown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const tls = hosts.clientTls;
  console.log(
    `three hosts up (run ${hosts.id}): ${hosts.hosts.map((h) => `${h.name} in ${h.namespace} at ${h.address}`).join(', ')}`,
  );
  console.log(
    `ETCDCTL_API=3 etcdctl --endpoints=${hosts.clientUrls().join(',')} --cacert=${tls.caFile} --cert=${tls.certFile} --key=${tls.keyFile} member list`,
  );
  console.log('Ctrl-C stops the members and removes the namespaces and the bridge.');
}

if (process.argv[1] && /netns\.(ts|js)$/.test(process.argv[1])) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(`netns: ${err.message}`);
    process.exit(1);
  });
}
