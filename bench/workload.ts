/**
 * The shape every benchmark workload has: it runs against one cluster through a channel pool
 * and reports how many operations completed, in how long, and their latency distribution.
 * closedLoop() is the common driver: N simulated clients, each issuing its next operation as
 * soon as the previous one is answered, until the time is up.
 */
import type { BenchCluster, System } from './cluster.js';
import type { ChannelPool } from './grpc.js';
import { Latencies } from './histogram.js';

/** What a workload is given. */
export interface RunContext {
  readonly system: System;
  readonly cluster: BenchCluster;
  /** The pool over the cluster's members, leader first (the workload must not close it). */
  readonly pool: ChannelPool;
  readonly durationMs: number;
  /** Small counts for a smoke test. */
  readonly quick: boolean;
}

/** What a workload measured on one system. */
export interface Measured {
  /** Operations completed (for throughput); null where throughput means nothing (failover). */
  readonly ops: number | null;
  readonly seconds: number;
  readonly latencies: Latencies;
  readonly errors: number;
  /** What was measured on this system when it differs between systems (e.g. which lock service). */
  readonly variant?: string;
}

/** One workload: a row of the table. */
export interface Workload {
  readonly id: string;
  /** What the row measures, for the table and the JSON. */
  readonly title: string;
  /** How the operation and its latency are defined. */
  readonly description: string;
  /**
   * Kills members or leaves the cluster changed for every later workload (a million keys):
   * runs after the others, and is not counted for the no-election-under-load target.
   */
  readonly disruptive?: boolean;
  /** How long the workload may run beyond --seconds before the run gives up on it (default 3 minutes). */
  readonly overrunLimitMs?: number;
  run(ctx: RunContext): Promise<Measured>;
}

/**
 * TTL in seconds of leases that must outlive the whole run (the lease rows' 10,000, the
 * membership row's). A full run with the defaults takes about 9 minutes, but longer rows
 * (--seconds) or a slow machine stretch it; leases expiring within it would be revoked by
 * thousands during later rows, on both systems alike.
 */
export const RUN_LEASE_TTL_SECONDS = 3600;

/** How long a client pauses after a failed call before it tries again (no hot loop on a sick cluster). */
const ERROR_PAUSE_MS = 10;

/**
 * Runs `clients` closed-loop clients for durationMs. op(client, i) performs operation i of
 * that client; its latency is recorded when it resolves, an error is counted when it rejects.
 */
export async function closedLoop(
  clients: number,
  durationMs: number,
  op: (client: number, i: number) => Promise<void>,
): Promise<Measured> {
  const latencies = new Latencies();
  let ops = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < until; i++) {
        const t0 = performance.now();
        try {
          await op(c, i);
          latencies.recordMs(performance.now() - t0);
          ops++;
        } catch {
          errors++;
          await new Promise((r) => setTimeout(r, ERROR_PAUSE_MS));
        }
      }
    }),
  );
  return { ops, seconds: (performance.now() - started) / 1000, latencies, errors };
}

/**
 * Tries `attempt(n)` for n = 0, 1, 2, ... (callers rotate over members with n) until one
 * resolves, pausing pauseMs after each failure, for at most limitMs counted from startedAtMs.
 * Returns the answer and the milliseconds from startedAtMs to it, or undefined if none came.
 */
export async function firstAnswer<T>(
  attempt: (n: number) => Promise<T>,
  startedAtMs: number,
  limitMs: number,
  pauseMs = 0,
): Promise<{ answer: T; elapsedMs: number } | undefined> {
  for (let n = 0; performance.now() - startedAtMs < limitMs; n++) {
    try {
      const answer = await attempt(n);
      return { answer, elapsedMs: performance.now() - startedAtMs };
    } catch {
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
  return undefined;
}

/** Runs fn for each of `count` items with at most `concurrency` at once. */
export async function forEachLimited(
  count: number,
  concurrency: number,
  fn: (i: number, worker: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async (_, w) => {
      while (next < count) await fn(next++, w);
    }),
  );
}

/** Runs `count` operations with at most `concurrency` in flight, recording each one's latency. */
export async function countedLoop(
  count: number,
  concurrency: number,
  op: (i: number, worker: number) => Promise<void>,
): Promise<Measured> {
  const latencies = new Latencies();
  let ops = 0;
  let errors = 0;
  const started = performance.now();
  await forEachLimited(count, concurrency, async (i, w) => {
    const t0 = performance.now();
    try {
      await op(i, w);
      latencies.recordMs(performance.now() - t0);
      ops++;
    } catch {
      errors++;
    }
  });
  return { ops, seconds: (performance.now() - started) / 1000, latencies, errors };
}
