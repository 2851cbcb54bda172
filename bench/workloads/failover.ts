/**
 * Failover: SIGKILL of the leader, then the time until a fresh write succeeds, probing the
 * survivors in turn with plain Puts of a short deadline (no client back-off in between).
 * Default election settings on both systems. The killed member is restarted and the cluster
 * waited for between rounds, so the cluster is whole again afterwards.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { leaderIndex, waitAllServing } from '../cluster.js';
import { bytes, unary } from '../grpc.js';
import { Latencies } from '../histogram.js';
import { firstAnswer, type Measured, type RunContext, type Workload } from '../workload.js';

/** Deadline of one probe write. */
const PROBE_DEADLINE_MS = 200;
/** Give up on one round after this long. */
const ROUND_LIMIT_MS = 60_000;

async function failover(ctx: RunContext): Promise<Measured> {
  const rounds = ctx.quick ? 1 : 3;
  const latencies = new Latencies();
  let errors = 0;
  const started = performance.now();
  const { KV } = etcdServices();
  for (let round = 0; round < rounds; round++) {
    const leader = await leaderIndex(ctx.cluster);
    const survivors = ctx.cluster.members
      .filter((_, i) => i !== leader)
      .map((m) => new KV(m.endpoint, grpc.credentials.createInsecure()));
    try {
      for (const kv of survivors)
        await unary(kv, 'Put', { key: bytes('bench/failover/warm'), value: bytes('1') }, 5000);
      const t0 = performance.now();
      await ctx.cluster.kill(leader);
      // No pause between probes: a refused Put (no leader yet) comes back at once.
      const written = await firstAnswer(
        (n) =>
          unary(
            survivors[n % survivors.length]!,
            'Put',
            { key: bytes(`bench/failover/${round}/${n}`), value: bytes('1') },
            PROBE_DEADLINE_MS,
          ),
        t0,
        ROUND_LIMIT_MS,
      );
      if (written) latencies.recordMs(written.elapsedMs);
      else errors++;
    } finally {
      for (const kv of survivors) kv.close();
    }
    ctx.cluster.restart(leader);
    await waitAllServing(ctx.cluster, 60_000);
  }
  return { ops: null, seconds: (performance.now() - started) / 1000, latencies, errors };
}

/** The failover workload (kills members: runs last). */
export const failoverWorkloads: readonly Workload[] = [
  {
    id: 'failover',
    title: 'failover: leader SIGKILL to first write',
    description:
      'SIGKILL of the leader, then Puts with a 200 ms deadline to the survivors in turn until one succeeds; 3 rounds (1 with --quick), the killed member restarted between rounds',
    disruptive: true,
    run: failover,
  },
];
