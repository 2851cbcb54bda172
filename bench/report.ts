/**
 * The benchmark's results: rows (one per workload, a result per system and the Cairn/etcd
 * ratios), the terminal table, and the JSON file.
 */
import type { System } from './cluster.js';
import type { NodeUsage } from './proc-stats.js';
import type { TargetCheck } from './targets.js';
import type { Measured, Workload } from './workload.js';

/** One system's numbers in a row; latencies are null when nothing completed. */
export interface SystemResult {
  readonly variant?: string;
  readonly ops: number | null;
  readonly seconds: number;
  readonly opsPerSecond: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly p999Ms: number | null;
  readonly samples: number;
  readonly errors: number;
  /** Elections during the workload (raft term after minus before); null when not asked or unknown. */
  readonly elections: number | null;
  readonly nodes: readonly NodeUsage[];
}

/** Cairn divided by etcd: above 1 for throughput is better for Cairn, below 1 for latency is. */
export interface Ratios {
  readonly throughput: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
}

/** One row of the table. */
export interface ResultRow {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly results: Partial<Record<System, SystemResult>>;
  readonly ratio?: Ratios;
}

/** The whole JSON file. */
export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly options: {
    compare: 'etcd' | 'none';
    seconds: number;
    /** Seconds of unmeasured load each system had before the first workload. */
    warmupSeconds: number;
    quick: boolean;
    workloads: string[];
  };
  readonly machine: { cpus: number; loadAverage: number[]; node: string; etcd?: string };
  readonly clientModel: string;
  readonly rows: ResultRow[];
  /** Issue 8's targets, as this run measured them. */
  readonly targets: TargetCheck[];
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Turns what a workload measured and what the members used into a system result. */
export function systemResult(
  m: Measured,
  nodes: readonly NodeUsage[],
  elections: number | null = null,
): SystemResult {
  return {
    ...(m.variant ? { variant: m.variant } : {}),
    ops: m.ops,
    seconds: m.seconds,
    opsPerSecond: m.ops === null ? null : finiteOrNull(m.ops / m.seconds),
    p50Ms: finiteOrNull(m.latencies.percentileMs(50)),
    p99Ms: finiteOrNull(m.latencies.percentileMs(99)),
    p999Ms: finiteOrNull(m.latencies.percentileMs(99.9)),
    samples: m.latencies.count,
    errors: m.errors,
    elections,
    nodes,
  };
}

function divide(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined || b === 0
    ? null
    : finiteOrNull(a / b);
}

/** A row from a workload and its per-system results, with ratios when both systems ran. */
export function row(w: Workload, results: Partial<Record<System, SystemResult>>): ResultRow {
  const { cairn, etcd } = results;
  const base = { id: w.id, title: w.title, description: w.description, results };
  if (!cairn || !etcd) return base;
  return {
    ...base,
    ratio: {
      throughput: divide(cairn.opsPerSecond, etcd.opsPerSecond),
      p50: divide(cairn.p50Ms, etcd.p50Ms),
      p99: divide(cairn.p99Ms, etcd.p99Ms),
      p999: divide(cairn.p999Ms, etcd.p999Ms),
    },
  };
}

function num(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined) return '-';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (Math.abs(x) >= 100) return x.toFixed(1);
  return x.toFixed(digits);
}

function ratio(x: number | null | undefined): string {
  return x === null || x === undefined ? '-' : `${x.toFixed(2)}x`;
}

/** The terminal table: per workload a line per system and one with the Cairn/etcd ratios. */
export function formatTable(rows: readonly ResultRow[]): string {
  const header = [
    'workload',
    'system',
    'ops/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'errors',
    'elections',
    'cpu s/node',
    'peak RSS MB/node',
  ];
  const lines: string[][] = [header];
  for (const r of rows) {
    let first = true;
    for (const system of ['cairn', 'etcd'] as const) {
      const s = r.results[system];
      if (!s) continue;
      lines.push([
        first ? r.title : '',
        system,
        num(s.opsPerSecond, 1),
        num(s.p50Ms),
        num(s.p99Ms),
        num(s.p999Ms),
        String(s.errors),
        s.elections === null ? '-' : String(s.elections),
        s.nodes.map((n) => n.cpuSeconds.toFixed(1)).join('/'),
        s.nodes.map((n) => n.peakRssMb.toFixed(0)).join('/'),
      ]);
      first = false;
    }
    if (r.ratio)
      lines.push([
        '',
        'cairn/etcd',
        ratio(r.ratio.throughput),
        ratio(r.ratio.p50),
        ratio(r.ratio.p99),
        ratio(r.ratio.p999),
        '',
        '',
        '',
        '',
      ]);
  }
  const widths = header.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const fmt = (l: string[]) =>
    l
      .map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(fmt)].join('\n');
}
