/**
 * Lock workloads: 16 clients contend for one lock, each acquiring it with its own lease and
 * releasing it as soon as it holds it. "lock" compares Cairn's LockService (Acquire/Release)
 * with etcd's v3lock service; "lock-v3lock" runs the v3lock service on both.
 */
import { bytes, newLeaseId, unary, type Wire } from '../grpc.js';
import { closedLoop, forEachLimited, type Measured, type RunContext, type Workload } from '../workload.js';

/** Clients contending for the one lock. */
const CONTENDERS = 16;

async function contend(ctx: RunContext, useCairnService: boolean): Promise<Measured> {
  const name = bytes(`bench/lock/${ctx.system}-${useCairnService ? 'cairn' : 'v3lock'}-${Date.now()}`);
  const leases: number[] = [];
  await forEachLimited(CONTENDERS, CONTENDERS, async (c) => {
    leases[c] = (
      await unary(ctx.pool.stubsFor(c).lease, 'LeaseGrant', { TTL: 60, ID: newLeaseId() }, 10_000)
    ).ID;
  });
  const m = await closedLoop(CONTENDERS, ctx.durationMs, async (c) => {
    const s = ctx.pool.stubsFor(c);
    if (useCairnService) {
      const held: Wire = await unary(s.cairnLock, 'Acquire', { name, lease: leases[c] });
      await unary(s.cairnLock, 'Release', { key: held.key, fencing_token: held.fencing_token });
    } else {
      const held: Wire = await unary(s.lock, 'Lock', { name, lease: leases[c] });
      await unary(s.lock, 'Unlock', { key: held.key });
    }
  });
  return { ...m, variant: useCairnService ? 'cairn.v1.LockService' : 'v3lockpb.Lock' };
}

/** The lock workloads, in table order. */
export const lockWorkloads: readonly Workload[] = [
  {
    id: 'lock',
    title: `lock, ${CONTENDERS} contenders (Cairn LockService vs etcd v3lock)`,
    description:
      'acquire then release one contended lock, each client with its own lease; Cairn: cairn.v1.LockService Acquire/Release, etcd: v3lockpb.Lock Lock/Unlock; latency: acquire call (including the wait in line) to release acknowledged',
    run: (ctx) => contend(ctx, ctx.system === 'cairn'),
  },
  {
    id: 'lock-v3lock',
    title: `lock, ${CONTENDERS} contenders (v3lock on both)`,
    description: 'as "lock", through v3lockpb.Lock Lock/Unlock on both systems',
    run: (ctx) => contend(ctx, false),
  },
];
