/**
 * KV workloads: puts of 256-byte values from 1, 64 and 256 clients; linearizable and
 * serializable gets; a compare-and-swap Txn; a 90/10 mix of linearizable gets and puts.
 */
import { bytes, unary, type Wire } from '../grpc.js';
import { closedLoop, forEachLimited, type Measured, type RunContext, type Workload } from '../workload.js';

/** The value every write carries. */
const VALUE = Buffer.alloc(256, 'v');
/** Distinct keys per client (puts cycle over them) and keys preloaded for reads. */
const KEYS = 1000;

function put(clients: number): Workload {
  return {
    id: `put-${clients}`,
    title: `put 256 B, ${clients} client${clients === 1 ? '' : 's'}`,
    description: 'KV.Put of a 256-byte value, closed loop; latency: call to acknowledgement',
    run: (ctx) =>
      closedLoop(clients, ctx.durationMs, async (c, i) => {
        await unary(ctx.pool.stubsFor(c).kv, 'Put', {
          key: bytes(`bench/put/${c}/${i % KEYS}`),
          value: VALUE,
        });
      }),
  };
}

async function preload(ctx: RunContext): Promise<void> {
  await forEachLimited(KEYS, 32, (i, w) =>
    unary(ctx.pool.stubsFor(w).kv, 'Put', { key: bytes(`bench/get/${i}`), value: VALUE }, 10_000),
  );
}

function get(serializable: boolean, clients: number): Workload {
  const kind = serializable ? 'serializable' : 'linearizable';
  return {
    id: `get-${serializable ? 'ser' : 'lin'}-${clients}`,
    title: `get ${kind}, ${clients} client${clients === 1 ? '' : 's'}`,
    description: `KV.Range of one of ${KEYS} preloaded keys (${kind}), closed loop`,
    async run(ctx) {
      await preload(ctx);
      return closedLoop(clients, ctx.durationMs, async (c, i) => {
        const r = await unary(ctx.pool.stubsFor(c).kv, 'Range', {
          key: bytes(`bench/get/${(c * 7919 + i) % KEYS}`),
          serializable,
        });
        if (r.kvs.length !== 1) throw new Error('preloaded key missing');
      });
    },
  };
}

function txnCas(clients: number): Workload {
  return {
    id: `txn-cas-${clients}`,
    title: `txn compare-and-swap, ${clients} clients`,
    description:
      'KV.Txn: if mod_revision(own key) == last seen then put; each client owns a key (no conflicts)',
    async run(ctx): Promise<Measured> {
      const revs: number[] = [];
      await forEachLimited(clients, 32, async (c) => {
        const r = await unary(
          ctx.pool.stubsFor(c).kv,
          'Put',
          { key: bytes(`bench/cas/${c}`), value: VALUE },
          10_000,
        );
        revs[c] = r.header.revision;
      });
      let conflicts = 0;
      const m = await closedLoop(clients, ctx.durationMs, async (c) => {
        const key = bytes(`bench/cas/${c}`);
        const r: Wire = await unary(ctx.pool.stubsFor(c).kv, 'Txn', {
          compare: [{ result: 0, target: 2, key, mod_revision: revs[c] }],
          success: [{ request_put: { key, value: VALUE } }],
          failure: [{ request_range: { key } }],
        });
        if (r.succeeded) revs[c] = r.header.revision;
        else {
          conflicts++;
          revs[c] = r.responses[0].response_range.kvs[0].mod_revision;
          throw new Error('compare failed');
        }
      });
      return conflicts > 0 ? { ...m, variant: `${conflicts} compares failed` } : m;
    },
  };
}

function mixed(clients: number): Workload {
  return {
    id: `mixed-${clients}`,
    title: `mixed 90% get / 10% put, ${clients} clients`,
    description: 'each operation a linearizable KV.Range (90%) or a 256-byte KV.Put (10%) of a preloaded key',
    async run(ctx) {
      await preload(ctx);
      return closedLoop(clients, ctx.durationMs, async (c, i) => {
        const key = bytes(`bench/get/${(c * 7919 + i) % KEYS}`);
        const stubs = ctx.pool.stubsFor(c);
        if ((c + i) % 10 === 0) await unary(stubs.kv, 'Put', { key, value: VALUE });
        else await unary(stubs.kv, 'Range', { key });
      });
    },
  };
}

/** The KV workloads, in table order. */
export const kvWorkloads: readonly Workload[] = [
  put(1),
  put(64),
  put(256),
  get(false, 1),
  get(false, 256),
  get(true, 256),
  txnCas(64),
  mixed(64),
];
