/**
 * The performance targets of issue 8, checked against a run's rows: each is met, not met, or
 * not applicable (its workload did not run, or it needs etcd and nothing was compared).
 */
import type { ResultRow, SystemResult } from './report.js';

/** One target and how the run fared. */
export interface TargetCheck {
  readonly target: string;
  /** null: the run did not measure it. */
  readonly met: boolean | null;
  readonly observed: string;
}

type Check = {
  target: string;
  eval(rows: ReadonlyMap<string, ResultRow>): { met: boolean; observed: string } | null;
};

const ratioAtLeast = (id: string, label: string, min: number): Check => ({
  target: `${label}: throughput >= ${min.toFixed(1)}x etcd`,
  eval: (rows) => {
    const q = rows.get(id)?.ratio?.throughput;
    return q === null || q === undefined ? null : { met: q >= min, observed: `${q.toFixed(2)}x` };
  },
});

const p99Below = (id: string, label: string, maxMs: number): Check => ({
  target: `${label}: Cairn p99 < ${maxMs} ms`,
  eval: (rows) => {
    const p = rows.get(id)?.results.cairn?.p99Ms;
    return p === null || p === undefined ? null : { met: p < maxMs, observed: `${p.toFixed(1)} ms` };
  },
});

const latencyNoWorse = (id: string, label: string, which: 'p50' | 'p99'): Check => ({
  target: `${label}: ${which} no worse than etcd`,
  eval: (rows) => {
    const q = rows.get(id)?.ratio?.[which];
    return q === null || q === undefined ? null : { met: q <= 1, observed: `${which} ${q.toFixed(2)}x etcd` };
  },
});

/** The largest peak RSS of any member, in MB. */
const peakRssMb = (r: SystemResult | undefined): number | undefined =>
  r && r.nodes.length > 0 ? Math.max(...r.nodes.map((n) => n.peakRssMb)) : undefined;

const memoryNoMore = (id: string, label: string): Check => ({
  target: `memory at ${label} keys: peak RSS per member no more than etcd's`,
  eval: (rows) => {
    const r = rows.get(id);
    const cairn = peakRssMb(r?.results.cairn);
    const etcd = peakRssMb(r?.results.etcd);
    if (cairn === undefined || etcd === undefined) return null;
    return { met: cairn <= etcd, observed: `${cairn.toFixed(0)} MB vs ${etcd.toFixed(0)} MB` };
  },
});

const CHECKS: readonly Check[] = [
  ratioAtLeast('put-64', 'writes, 64 clients', 1),
  ratioAtLeast('put-256', 'writes, 256 clients', 1),
  latencyNoWorse('put-64', 'writes, 64 clients', 'p99'),
  latencyNoWorse('put-256', 'writes, 256 clients', 'p99'),
  latencyNoWorse('put-1', 'writes, 1 client', 'p50'),
  latencyNoWorse('get-lin-1', 'linearizable reads, 1 client', 'p50'),
  ratioAtLeast('get-lin-256', 'linearizable reads, 256 clients', 1.5),
  ratioAtLeast('lock', 'locks (LockService vs v3lock)', 2),
  ratioAtLeast('lock-v3lock', 'locks (v3lock on both)', 2),
  p99Below('watch-fanout', 'watch fan-out', 20),
  p99Below('membership', 'membership propagation', 20),
  {
    target: 'no election while clients saturate the cluster (every workload but the disruptive ones)',
    eval: (rows) => {
      const counted = [...rows.values()].filter((r) => typeof r.results.cairn?.elections === 'number');
      if (counted.length === 0) return null;
      const sum = (s: 'cairn' | 'etcd') => counted.reduce((n, r) => n + (r.results[s]?.elections ?? 0), 0);
      const where = counted.filter((r) => (r.results.cairn?.elections ?? 0) > 0).map((r) => r.id);
      return {
        met: sum('cairn') === 0,
        observed: `${sum('cairn')} in ${counted.length} workloads${where.length > 0 ? ` (${where.join(', ')})` : ''}; etcd ${sum('etcd')}`,
      };
    },
  },
  memoryNoMore('keys-100k', '100,000'),
  memoryNoMore('keys-1m', '1,000,000'),
  {
    target: 'restart at 1,000,000 keys: serving again < 5 s',
    eval: (rows) => {
      const r = rows.get('restart')?.results.cairn;
      if (!rows.has('keys-1m') || !r || r.p999Ms === null || r.samples === 0) return null;
      return { met: r.errors === 0 && r.p999Ms < 5000, observed: `worst ${r.p999Ms.toFixed(0)} ms` };
    },
  },
  {
    target: 'failover: every round < 1.5 s',
    eval: (rows) => {
      const r = rows.get('failover')?.results.cairn;
      if (!r || r.p999Ms === null || r.samples === 0) return null;
      return { met: r.errors === 0 && r.p999Ms < 1500, observed: `worst ${r.p999Ms.toFixed(0)} ms` };
    },
  },
];

/** Evaluates every target against the rows. */
export function checkTargets(rows: readonly ResultRow[]): TargetCheck[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return CHECKS.map((c) => {
    const r = c.eval(byId);
    return r ? { target: c.target, ...r } : { target: c.target, met: null, observed: 'not measured' };
  });
}

/** The checks as lines for the terminal. */
export function formatTargets(checks: readonly TargetCheck[]): string {
  const width = Math.max(...checks.map((c) => c.target.length));
  return [
    'issue 8 targets:',
    ...checks.map(
      (c) =>
        `  ${c.met === null ? 'n/a ' : c.met ? 'MET ' : 'NOT '} ${c.target.padEnd(width)}  ${c.observed}`,
    ),
  ].join('\n');
}
