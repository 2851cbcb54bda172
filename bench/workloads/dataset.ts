/**
 * Data size: the keyspace grown to 100,000 and then 1,000,000 keys of 256-byte values (Txns of
 * 128 puts, etcd's default --max-txn-ops), each member's peak RSS while it holds them, and a
 * restart of the whole cluster at that size (SIGKILL of every member, start all again, time to
 * the first linearizable read served). These run after every other workload: they leave the
 * cluster with a million keys, which would change what the others measure.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { waitAllServing } from '../cluster.js';
import { bytes, prefixEnd, unary, type Wire } from '../grpc.js';
import { Latencies } from '../histogram.js';
import { countedLoop, firstAnswer, type Measured, type RunContext, type Workload } from '../workload.js';

/** The value every key holds. */
const VALUE = Buffer.alloc(256, 'd');
/** Puts per Txn: etcd's default limit of operations in one Txn. */
const TXN_PUTS = 128;
/** Txns in flight while loading. */
const LOAD_CONCURRENCY = 16;
/** Where the keys live. */
const PREFIX = 'bench/data/';
/** Deadline of one load Txn (a loaded member may take a while). */
const LOAD_DEADLINE_MS = 30_000;
/** Deadline of one probe read after the restart. */
const PROBE_DEADLINE_MS = 250;
/**
 * The probes' channels retry a refused connection within 50 ms: grpc-js's default reconnect
 * back-off (1 s, growing) would otherwise decide when a member that has just started is seen.
 */
const PROBE_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 50,
};
/** How long loading (or the restarts) may take before the run gives up: a million keys take minutes. */
const LOAD_LIMIT_MS = 20 * 60_000;
/** Give up on a restart after this long. */
const RESTART_LIMIT_MS = 120_000;

/** Key number i, zero-padded so the keys sort by number. */
function dataKey(i: number): Buffer {
  return bytes(`${PREFIX}${i.toString().padStart(7, '0')}`);
}

/** How many keys the dataset holds now (they are always keys 0..n-1). */
async function keyCount(ctx: RunContext): Promise<number> {
  const r = await unary(
    ctx.pool.stubsFor(0).kv,
    'Range',
    { key: bytes(PREFIX), range_end: prefixEnd(PREFIX), count_only: true },
    LOAD_DEADLINE_MS,
  );
  return Number(r.count);
}

/** Grows the dataset to `keys` keys (`quickKeys` with --quick); one operation = one Txn of puts. */
function grow(label: string, keys: number, quickKeys: number): Workload {
  return {
    id: `keys-${label}`,
    title: `keyspace to ${label} keys, RSS`,
    description: `Txns of ${TXN_PUTS} puts of 256-byte values (${LOAD_CONCURRENCY} in flight) until ${PREFIX} holds ${keys.toLocaleString('en')} keys (${quickKeys} with --quick); ops/s counts keys, latency is per Txn; peak RSS is the memory at that data size`,
    disruptive: true,
    overrunLimitMs: LOAD_LIMIT_MS,
    async run(ctx): Promise<Measured> {
      const target = ctx.quick ? quickKeys : keys;
      const from = await keyCount(ctx);
      const txns = Math.ceil(Math.max(0, target - from) / TXN_PUTS);
      let written = 0;
      const m = await countedLoop(txns, LOAD_CONCURRENCY, async (t, worker) => {
        const first = from + t * TXN_PUTS;
        const last = Math.min(target, first + TXN_PUTS);
        const success = [];
        for (let i = first; i < last; i++) success.push({ request_put: { key: dataKey(i), value: VALUE } });
        await unary(ctx.pool.stubsFor(worker).kv, 'Txn', { success }, LOAD_DEADLINE_MS);
        written += last - first;
      });
      if (m.errors > 0) throw new Error(`${m.errors} load Txns failed: the dataset has gaps`);
      const now = await keyCount(ctx);
      if (now < target) throw new Error(`the dataset holds ${now} keys, not ${target}`);
      return { ...m, ops: written };
    },
  };
}

/** SIGKILLs every member, starts them all again, and times the first linearizable read served. */
async function restartAll(ctx: RunContext): Promise<Measured> {
  const rounds = ctx.quick ? 1 : 2;
  const latencies = new Latencies();
  let errors = 0;
  const started = performance.now();
  const { KV } = etcdServices();
  const n = ctx.cluster.members.length;
  for (let round = 0; round < rounds; round++) {
    await Promise.all(ctx.cluster.members.map((_, i) => ctx.cluster.kill(i)));
    const t0 = performance.now();
    for (let i = 0; i < n; i++) ctx.cluster.restart(i);
    const kvs = ctx.cluster.members.map(
      (m) => new KV(m.endpoint, grpc.credentials.createInsecure(), PROBE_CHANNEL_OPTIONS),
    );
    let served: { answer: Wire; elapsedMs: number } | undefined;
    try {
      served = await firstAnswer(
        (k) => unary(kvs[k % n]!, 'Range', { key: dataKey(0) }, PROBE_DEADLINE_MS),
        t0,
        RESTART_LIMIT_MS,
        20,
      );
    } finally {
      for (const kv of kvs) kv.close();
    }
    if (served && served.answer.kvs.length !== 1)
      throw new Error('the first key of the dataset is missing after the restart');
    if (served) latencies.recordMs(served.elapsedMs);
    else errors++;
    await waitAllServing(ctx.cluster, RESTART_LIMIT_MS);
  }
  return { ops: null, seconds: (performance.now() - started) / 1000, latencies, errors };
}

/** The data-size workloads, in the order they must run. */
export const datasetWorkloads: readonly Workload[] = [
  grow('100k', 100_000, 2_000),
  grow('1m', 1_000_000, 5_000),
  {
    id: 'restart',
    title: 'restart at that size',
    description:
      'SIGKILL of every member, all started again at once; latency: to the first linearizable read of the dataset served by any member; 2 rounds (1 with --quick)',
    disruptive: true,
    overrunLimitMs: LOAD_LIMIT_MS,
    run: restartAll,
  },
];
