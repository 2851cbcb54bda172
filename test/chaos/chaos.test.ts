/**
 * Proves, on a real three-member cluster, that Cairn stays linearizable and loses no
 * acknowledged write through a short seeded campaign of SIGKILLs, SIGSTOPs, partitions
 * (two-way and one-way), link latency, a slow disk and wall-clock jumps (campaign.ts; the
 * seed is one whose plan puts a slow disk and a one-way partition early): every checker
 * passes (linearizability with final reads after healing and after a full restart, equal
 * HashKV on every member, leases neither revoked early nor kept too long, and the
 * lock-fencing, 2PC-atomicity, membership-convergence and watch checkers of workloads/, the
 * fence shown exercised), the slow disk and the one-way partition were really injected, peer
 * traffic really crossed the harness's proxies, and the history was large enough to mean
 * something. On failure the message carries the seed and the checker's report.
 */
import { describe, expect, it } from 'vitest';
import { TEST_ENTRY } from '../support/entry.js';
import { runCampaign, verdictLine } from './campaign.js';
import { FAULT_KINDS, parseFaults, planFaults } from './nemesis.js';

describe('chaos campaign', () => {
  it('plans the same faults for the same seed, other faults for another', () => {
    expect(planFaults(42, 20, 5)).toEqual(planFaults(42, 20, 5));
    expect(planFaults(42, 20, 5)).not.toEqual(planFaults(43, 20, 5));
    expect(new Set(planFaults(42, 80, 3).map((f) => f.kind)).size).toBe(FAULT_KINDS.length);
    const some = parseFaults('slow-disk,one-way');
    expect(some).toEqual(['partition-one-way', 'slow-disk']);
    expect(new Set(planFaults(7, 30, 3, some).map((f) => f.kind))).toEqual(new Set(some));
    expect(parseFaults('all,-membership,-kill')).not.toContain('membership');
    expect(parseFaults('all,-membership,-kill')).not.toContain('kill-leader');
    expect(() => parseFaults('kill,bogus')).toThrow(/unknown fault group bogus/);
  });

  it('a 35 s campaign on 3 members passes every checker', { timeout: 600_000 }, async () => {
    const lines: string[] = [];
    // Membership changes are left out: starting a member from source takes too long for CI.
    const faults = parseFaults('all,-membership');
    const seed = 20261179;
    expect(planFaults(seed, 3, 3, faults).map((f) => f.kind)).toEqual([
      'slow-disk',
      'partition-one-way',
      'slow-disk',
    ]);
    const r = await runCampaign({
      seed,
      timeS: 35,
      nodes: 3,
      faults,
      entry: TEST_ENTRY,
      log: (l) => lines.push(l),
    });
    const report = [verdictLine(r), ...lines, ...r.checks.filter((c) => !c.pass).map((c) => c.detail)].join(
      '\n',
    );
    for (const c of r.checks) expect(c.pass, report).toBe(true);
    expect(r.pass, report).toBe(true);
    expect(r.faultsInjected, report).toBeGreaterThan(0);
    expect(
      lines.some((l) => l.includes('] slow-disk ')),
      report,
    ).toBe(true);
    expect(
      lines.some((l) => l.includes('] partition-one-way ')),
      report,
    ).toBe(true);
    expect(r.proxiedConnections, report).toBeGreaterThan(0);
    expect(r.opsOk, report).toBeGreaterThan(100);
    expect(r.linearizability?.verdict).toBe('ok');
    // The lock, transaction, membership and watch workloads ran and were judged too.
    expect(
      r.checks.map((c) => c.name),
      report,
    ).toEqual(expect.arrayContaining(['lock-fence', 'txn-atomicity', 'membership', 'watch']));
  });
});
