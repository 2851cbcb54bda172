/**
 * Proves the benchmark tool runs end to end: bench/run.ts (compiled or source: test/support/entry.ts) in --quick mode on two workloads
 * (against Cairn and, when /usr/bin/etcd is installed, etcd) exits 0, writes a JSON file whose
 * rows carry finite throughput, percentiles and per-node usage (and Cairn/etcd ratios when
 * compared) and an SVG chart with a bar per row, keeps every member's log beside them (Cairn's at
 * level info, with its start and its first leader), and leaves no member process running; and that
 * --help lists the options and workloads while an unknown option is refused with exit code 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/processes.js';
import { programArgs } from '../support/entry.js';

const compared = existsSync('/usr/bin/etcd');
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run bench --quick', () => {
  it('writes a table, JSON and SVG with one row per workload', () => {
    const run = spawnSync(
      process.execPath,
      [
        ...programArgs('bench/run.ts'),
        '--quick',
        '--seconds=1',
        '--warmup=1',
        '--workloads=put-1,watch-fanout',
        `--compare=${compared ? 'etcd' : 'none'}`,
        `--out=${out}`,
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 55_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('put 256 B, 1 client');

    const files = readdirSync(out);
    const json = files.filter((f) => f.endsWith('.json'));
    const svg = files.filter((f) => f.endsWith('.svg'));
    expect(json).toHaveLength(1);
    expect(svg).toEqual([json[0]!.replace(/\.json$/, '.svg')]);
    const logDir = join(out, json[0]!.replace(/\.json$/, '-logs'));
    expect(run.stdout).toContain(`logs:    ${logDir}`);
    const cairnLogs = ['cairn-n1.log', 'cairn-n2.log', 'cairn-n3.log'];
    const etcdLogs = ['etcd-e1.log', 'etcd-e2.log', 'etcd-e3.log'];
    expect(readdirSync(logDir).sort()).toEqual(compared ? [...cairnLogs, ...etcdLogs] : cairnLogs);
    const cairnLines = cairnLogs.map((f) => readFileSync(join(logDir, f), 'utf8'));
    for (const text of cairnLines) expect(text).toContain('"msg":"serving"');
    // Info-level events are there: every member logs the leader it first learns of.
    for (const text of cairnLines) expect(text).toContain('"msg":"leader changed"');
    if (compared)
      for (const f of etcdLogs) expect(readFileSync(join(logDir, f), 'utf8')).toContain('"level":"info"');

    const report = JSON.parse(readFileSync(join(out, json[0]!), 'utf8'));
    expect(report.options).toMatchObject({
      compare: compared ? 'etcd' : 'none',
      quick: true,
      seconds: 1,
      warmupSeconds: 1,
    });
    expect(run.stderr).toMatch(/warming up cairn \(1 s\)/);
    expect(report.rows.map((r: { id: string }) => r.id)).toEqual(['put-1', 'watch-fanout']);
    const systems = compared ? ['cairn', 'etcd'] : ['cairn'];
    const pids: number[] = [];
    for (const row of report.rows) {
      expect(Object.keys(row.results).sort()).toEqual(systems);
      for (const s of systems) {
        const r = row.results[s];
        for (const k of ['opsPerSecond', 'p50Ms', 'p99Ms', 'p999Ms', 'seconds']) {
          expect(Number.isFinite(r[k]), `${row.id} ${s} ${k}`).toBe(true);
          expect(r[k]).toBeGreaterThan(0);
        }
        // Neither workload kills members, so the elections they caused are counted.
        expect(Number.isInteger(r.elections) && r.elections >= 0, `${row.id} ${s} elections`).toBe(true);
        expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
        expect(r.p99Ms).toBeLessThanOrEqual(r.p999Ms);
        expect(r.nodes).toHaveLength(3);
        for (const n of r.nodes) {
          expect(Number.isFinite(n.cpuSeconds)).toBe(true);
          expect(n.peakRssMb).toBeGreaterThan(0);
          pids.push(n.pid);
        }
      }
      if (compared) {
        for (const k of ['throughput', 'p50', 'p99', 'p999']) {
          expect(Number.isFinite(row.ratio[k]), `${row.id} ratio ${k}`).toBe(true);
        }
        expect(row.ratio.throughput).toBeCloseTo(
          row.results.cairn.opsPerSecond / row.results.etcd.opsPerSecond,
          6,
        );
      } else {
        expect(row.ratio).toBeUndefined();
      }
    }
    expect(pids.filter(alive)).toEqual([]);
    // Issue 8's targets are evaluated; those of workloads that did not run are n/a (null).
    const byTarget = new Map(
      report.targets.map((t: { target: string; met: boolean | null }) => [t.target, t.met]),
    );
    expect(byTarget.get('locks (v3lock on both): throughput >= 2.0x etcd')).toBeNull();
    expect(
      typeof byTarget.get(
        'no election while clients saturate the cluster (every workload but the disruptive ones)',
      ),
    ).toBe('boolean');
    expect(typeof byTarget.get('writes, 1 client: p50 no worse than etcd')).toBe(
      compared ? 'boolean' : 'object',
    );

    const chart = readFileSync(join(out, svg[0]!), 'utf8');
    expect(chart.startsWith('<svg')).toBe(true);
    expect(chart.trimEnd().endsWith('</svg>')).toBe(true);
    for (const row of report.rows) expect(chart).toContain(row.title);
    // The background, one throughput bar per row, a p99 bar per system per row, a legend swatch per system.
    expect(chart.match(/<rect /g)?.length).toBe(
      1 + report.rows.length * (1 + systems.length) + systems.length,
    );
  });

  it('explains its options on --help, and refuses an unknown one with them', () => {
    const help = spawnSync(process.execPath, [...programArgs('bench/run.ts'), '--help'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(help.status, help.stderr).toBe(0);
    for (const option of ['--compare', '--seconds', '--warmup', '--workloads', '--quick', '--out'])
      expect(help.stdout).toContain(option);
    for (const id of ['put-1', 'get-lin-256', 'lock', 'failover', 'restart'])
      expect(help.stdout).toContain(id);
    const bad = spawnSync(process.execPath, [...programArgs('bench/run.ts'), '--sekonds=3'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("bench: Unknown option '--sekonds'");
    expect(bad.stderr).toContain('usage: npm run bench');
  });
});
