/**
 * `npm run bench [-- --compare etcd|none] [--seconds N] [--workloads a,b] [--quick] [--out dir]`:
 * starts a three-member Cairn cluster (cluster/'s code path, default settings) and, unless
 * --compare none, a three-member etcd cluster, both on free loopback ports with data in
 * temporary folders; runs every workload against both with the same client code, alternating
 * which system goes first; prints a table, and writes JSON and an SVG chart to bench/results/.
 * Both clusters are stopped and their data removed at the end, also on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freeLoopbackPort } from '../cluster/ports.js';
import { REPO_ROOT } from '../cluster/processes.js';
import { startCairn } from './cairn.js';
import {
  type BenchCluster,
  clusterTerm,
  leaderFirst,
  leaderIndex,
  type System,
  waitAllServing,
} from './cluster.js';
import { ETCD_BINARY, etcdAvailable, startEtcd } from './etcd.js';
import { CHANNELS_PER_MEMBER, ChannelPool } from './grpc.js';
import { ProcSampler } from './proc-stats.js';
import {
  type BenchReport,
  formatTable,
  type ResultRow,
  row,
  type SystemResult,
  systemResult,
} from './report.js';
import { renderSvg } from './svg.js';
import { checkTargets, formatTargets } from './targets.js';
import { WORKLOADS } from './workloads/index.js';

/** How long a workload may overrun its time before the run gives up on it, unless it says otherwise. */
const OVERRUN_LIMIT_MS = 180_000;

const USAGE = `usage: npm run bench [-- options]
  --compare etcd|none   also run a three-member etcd (Debian's etcd-server) side by side (default etcd)
  --seconds N           how long each workload runs (default 10)
  --warmup N            seconds of unmeasured load on each system before the first workload
                        (default 6; puts, then a get/put mix), so a JIT runtime is measured warm
  --workloads a,b       only these workloads: ${WORKLOADS.map((w) => w.id).join(', ')}
  --quick               small datasets (keys, leases) and one round of failover and restart, for a smoke run
  --out DIR             where the JSON, the SVG chart and the members' logs (<time>-logs/) go
                        (default bench/results)
  --help                this text`;

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        compare: { type: 'string', default: 'etcd' },
        seconds: { type: 'string', default: '10' },
        warmup: { type: 'string', default: '6' },
        workloads: { type: 'string' },
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}

const values = parseOptions();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

if (values.compare !== 'etcd' && values.compare !== 'none')
  fail(`--compare must be etcd or none, not ${values.compare}`);
const compare = values.compare as 'etcd' | 'none';
if (compare === 'etcd' && !etcdAvailable())
  fail(`${ETCD_BINARY} is missing (apt-get install etcd-server), or use --compare none`);
const seconds = Number(values.seconds);
if (!(seconds > 0)) fail(`--seconds must be a positive number, not ${values.seconds}`);
const warmupSeconds = Number(values.warmup);
if (!(warmupSeconds >= 0)) fail(`--warmup must be a number of seconds, not ${values.warmup}`);
const selected = values.workloads
  ? values.workloads.split(',').map((id) => {
      const w = WORKLOADS.find((x) => x.id === id.trim());
      return w ?? fail(`unknown workload ${id}; known: ${WORKLOADS.map((x) => x.id).join(', ')}`);
    })
  : [...WORKLOADS];
// Failover kills members: it runs after the others whatever the order given.
const workloads = [...selected.filter((w) => !w.disruptive), ...selected.filter((w) => w.disruptive)];
const outDir = values.out ?? join(REPO_ROOT, 'bench', 'results');
// Compiled (npm run bench) members run from dist/; under tsx (the smoke test) from source.
const entry = fileURLToPath(import.meta.url).includes(`${join(REPO_ROOT, 'dist')}/`) ? 'dist' : 'source';

const interactive = process.stderr.isTTY === true;
function progress(line: string): void {
  if (interactive) process.stderr.write(`\r\x1b[K${line}`);
  else process.stderr.write(`${line}\n`);
}

async function ports(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freeLoopbackPort());
  return [...out];
}

function etcdVersion(): string | undefined {
  try {
    return execFileSync(ETCD_BINARY, ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

async function measure(
  cluster: BenchCluster,
  index: number,
  label: string,
): Promise<SystemResult | undefined> {
  const w = workloads[index]!;
  progress(`[${index + 1}/${workloads.length}] ${w.id} on ${cluster.system} ...`);
  const leader = await leaderIndex(cluster, 60_000);
  const pool = new ChannelPool(leaderFirst(cluster, leader), CHANNELS_PER_MEMBER);
  // Only the workloads that leave the members running count elections (failover causes them).
  const termBefore = w.disruptive ? undefined : await clusterTerm(cluster);
  const sampler = new ProcSampler(cluster.members);
  let timer: NodeJS.Timeout | undefined;
  try {
    const m = await Promise.race([
      w.run({ system: cluster.system, cluster, pool, durationMs: seconds * 1000, quick: values.quick }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('timed out')),
          seconds * 1000 + (w.overrunLimitMs ?? OVERRUN_LIMIT_MS),
        );
      }),
    ]);
    const nodes = sampler.stop();
    const termAfter = termBefore === undefined ? undefined : await clusterTerm(cluster);
    return systemResult(m, nodes, termAfter === undefined ? null : termAfter - termBefore!);
  } catch (err) {
    sampler.stop();
    if (interactive) process.stderr.write('\n');
    console.error(`bench: ${label} failed: ${(err as Error).message}`);
    return undefined;
  } finally {
    clearTimeout(timer);
    pool.close();
  }
}

/** Workloads that warm a system up (results dropped): writes, then reads with some writes. */
const WARMUP_WORKLOADS = ['put-64', 'mixed-64'];

/**
 * Unmeasured load before the first workload, the same on every system: Cairn runs on a JIT
 * compiler, and the first seconds after start would otherwise measure its compilation, not
 * its steady state (etcd, compiled ahead of time, has none to do).
 */
async function warmUp(cluster: BenchCluster): Promise<void> {
  if (warmupSeconds === 0) return;
  progress(`warming up ${cluster.system} (${warmupSeconds} s) ...`);
  const leader = await leaderIndex(cluster, 60_000);
  const pool = new ChannelPool(leaderFirst(cluster, leader), CHANNELS_PER_MEMBER);
  try {
    for (const id of WARMUP_WORKLOADS) {
      const w = WORKLOADS.find((x) => x.id === id);
      if (w === undefined) throw new Error(`warm-up workload ${id} is missing`);
      const durationMs = (warmupSeconds * 1000) / WARMUP_WORKLOADS.length;
      await w.run({ system: cluster.system, cluster, pool, durationMs, quick: values.quick });
    }
  } finally {
    pool.close();
  }
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const stamp = startedAt
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  // Every member's log, kept whatever the outcome: a slow round (a failover) can be read afterwards.
  const logDir = join(outDir, `${stamp}-logs`);
  mkdirSync(logDir, { recursive: true });
  const p = await ports(12);
  const clusters: BenchCluster[] = [];
  const killAll = () => {
    for (const c of clusters) c.killAllSync();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  try {
    progress('starting clusters ...');
    clusters.push(startCairn(p.slice(0, 6), entry, logDir));
    if (compare === 'etcd') clusters.push(startEtcd(p.slice(6), logDir));
    for (const c of clusters) {
      await leaderIndex(c, 60_000);
      await waitAllServing(c, 60_000);
      await warmUp(c);
    }
    const rows: ResultRow[] = [];
    for (let i = 0; i < workloads.length; i++) {
      const w = workloads[i]!;
      // Alternate which system goes first, so neither always runs on a machine the other just warmed.
      const order = i % 2 === 0 ? clusters : [...clusters].reverse();
      const results: Partial<Record<System, SystemResult>> = {};
      for (const c of order) {
        const r = await measure(c, i, `${w.id} on ${c.system}`);
        if (r) results[c.system] = r;
      }
      rows.push(row(w, results));
    }
    progress('stopping clusters ...');
    if (interactive) process.stderr.write('\n');
    const report: BenchReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options: {
        compare,
        seconds,
        warmupSeconds,
        quick: values.quick,
        workloads: workloads.map((w) => w.id),
      },
      machine: {
        cpus: cpus().length,
        loadAverage: loadavg(),
        node: process.version,
        ...(compare === 'etcd' ? { etcd: etcdVersion() ?? 'unknown' } : {}),
      },
      clientModel: `raw @grpc/grpc-js stubs, ${CHANNELS_PER_MEMBER} channels per member (each its own connection), simulated clients spread over them round-robin, leader first`,
      rows,
      targets: checkTargets(rows),
    };
    console.log(formatTable(rows));
    console.log(`\n${formatTargets(report.targets)}`);
    const jsonFile = join(outDir, `${stamp}.json`);
    const svgFile = join(outDir, `${stamp}.svg`);
    writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(
      svgFile,
      renderSvg(
        rows,
        `Cairn${compare === 'etcd' ? ' vs etcd' : ''}: ${seconds} s per workload${values.quick ? ' (quick)' : ''}, ${startedAt.toISOString()}`,
      ),
    );
    console.log(`results: ${jsonFile}\nchart:   ${svgFile}\nlogs:    ${logDir}`);
    return rows.every((r) => Object.keys(r.results).length === clusters.length) ? 0 : 1;
  } finally {
    await Promise.all(clusters.map((c) => c.stop()));
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
