/**
 * Proves that a real three-member cluster survives a few thousand random, malformed,
 * truncated, oversized and out-of-range requests to every method of its public gRPC API
 * (etcd's KV, Watch, Lease, Cluster, Maintenance, Lock, Election; Cairn's LockService,
 * MembershipService, CoordinatorService), sent as raw protobuf bytes and as raw HTTP/2:
 * each answer is a proper gRPC status, no member dies, the cluster still elects and
 * serves, memory stays bounded, and the seeded data is unchanged (session.ts says what may
 * change). The seed is fixed (CAIRN_FUZZ_SEED overrides it); a failure prints the seed and
 * the case, which `npm run fuzz -- --seed S --case I` replays.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSession, RSS_GROWTH_BYTES_MAX } from './session.js';

const SEED = Number(process.env.CAIRN_FUZZ_SEED ?? 7_2024);
const CASES = 2500;

describe('API fuzzer', () => {
  it(`answers ${CASES} hostile requests (seed ${SEED}) with gRPC statuses and keeps the data`, async () => {
    const r = await fuzzSession({ seed: SEED, count: CASES });
    if (r.problems.length > 0) console.error(r.problems.join('\n'));
    expect(r.problems, `seed ${SEED}`).toEqual([]);
    expect(r.report.cases).toBe(CASES);
    // The run reached the server's handlers, not only its decoder: some requests succeeded,
    // some were refused by validation, and some raw HTTP/2 cases ran.
    expect(r.report.outcomes.OK ?? 0).toBeGreaterThan(100);
    expect(r.report.outcomes.INVALID_ARGUMENT ?? 0).toBeGreaterThan(100);
    expect(Object.keys(r.report.outcomes).filter((k) => k.startsWith('http2 ')).length).toBeGreaterThan(8);
    for (const m of r.rss) expect(m.afterBytes - m.beforeBytes).toBeLessThan(RSS_GROWTH_BYTES_MAX);
  }, 180_000);
});
