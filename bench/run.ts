/**
 * `npm run bench`: starts a three-member Cairn cluster and a three-member etcd cluster on
 * free loopback ports and runs the same workload with the same client against each, in
 * turn, printing a table with the Cairn/etcd ratio for every row and writing JSON to
 * bench/results/. Both run with their default durability: every acknowledged write is
 * fsynced on a quorum.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, spawnMember, stopMember } from '../cluster/processes.js';
import { waitForLeader } from '../cluster/readiness.js';
import { localTopology } from '../cluster/topology.js';
import { freePorts } from '../test/support/ports.js';
import { startEtcd } from './etcd.js';
import { type PutResult, runPuts } from './put.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '1,64,256' },
  },
});
const durationMs = Number(values.seconds) * 1000;
const clientCounts = values.clients.split(',').map(Number);

async function main(): Promise<void> {
  const ports = await freePorts(12);
  const root = mkdtempSync(join(tmpdir(), 'bench-cairn-'));
  const topo = localTopology(
    root,
    [0, 1, 2].map((i) => ({ client: ports[2 * i]!, peer: ports[2 * i + 1]! })),
    'bench-cairn',
  );
  for (const m of topo.members)
    spawnMember(topo, m, {
      entry: 'dist',
      detached: false,
      extraFlags: ['--log-level=error'],
    }).stdout?.resume();
  const etcd = startEtcd(ports.slice(6));
  try {
    const cairnEndpoints = topo.members.map((m) => m.clientUrl);
    await waitForLeader(cairnEndpoints, 30_000);
    await waitForLeader(etcd.endpoints, 30_000);
    const rows: { workload: string; cairn: PutResult; etcd: PutResult }[] = [];
    for (const clients of clientCounts) {
      const cairn = await runPuts(cairnEndpoints, clients, durationMs);
      const e = await runPuts(etcd.endpoints, clients, durationMs);
      rows.push({ workload: `put 256 B, ${clients} client${clients > 1 ? 's' : ''}`, cairn, etcd: e });
      const ratio = cairn.writesPerSecond / e.writesPerSecond;
      console.log(
        `${rows.at(-1)!.workload.padEnd(24)} cairn ${cairn.writesPerSecond.toFixed(0).padStart(6)} w/s p50 ${cairn.p50Ms.toFixed(2)} ms p99 ${cairn.p99Ms.toFixed(2)} ms | etcd ${e.writesPerSecond.toFixed(0).padStart(6)} w/s p50 ${e.p50Ms.toFixed(2)} ms p99 ${e.p99Ms.toFixed(2)} ms | ratio ${ratio.toFixed(2)}x`,
      );
    }
    const dir = join(REPO_ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `put-${new Date().toISOString().replaceAll(':', '-')}.json`);
    writeFileSync(file, JSON.stringify({ durationMs, rows }, null, 2));
    console.log(`results: ${file}`);
  } finally {
    for (const m of topo.members) await stopMember(m);
    await etcd.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
