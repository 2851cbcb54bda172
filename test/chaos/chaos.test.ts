/**
 * Proves, on a real three-member cluster, that Cairn stays linearizable and loses no
 * acknowledged write through a short seeded campaign of SIGKILLs, SIGSTOPs and partitions
 * (campaign.ts): every checker passes (linearizability with final reads after healing and
 * after a full restart, equal HashKV on every member, and the lock-fencing, 2PC-atomicity,
 * membership-convergence and watch checkers of workloads/, the fence shown exercised),
 * faults were really injected, peer traffic really crossed the harness's proxies, and the
 * history was large enough to mean something. On failure the message carries the seed and the checker's report.
 */
import { describe, expect, it } from 'vitest';
import { runCampaign, verdictLine } from './campaign.js';
import { planFaults } from './nemesis.js';

describe('chaos campaign', () => {
  it('plans the same faults for the same seed, other faults for another', () => {
    expect(planFaults(42, 20, 5)).toEqual(planFaults(42, 20, 5));
    expect(planFaults(42, 20, 5)).not.toEqual(planFaults(43, 20, 5));
    expect(new Set(planFaults(42, 60, 3).map((f) => f.kind)).size).toBe(6);
  });

  it('a 35 s campaign on 3 members passes every checker', { timeout: 600_000 }, async () => {
    const lines: string[] = [];
    const r = await runCampaign({ seed: 20261129, timeS: 35, nodes: 3, log: (l) => lines.push(l) });
    const report = [verdictLine(r), ...lines, ...r.checks.filter((c) => !c.pass).map((c) => c.detail)].join(
      '\n',
    );
    for (const c of r.checks) expect(c.pass, report).toBe(true);
    expect(r.pass, report).toBe(true);
    expect(r.faultsInjected, report).toBeGreaterThan(0);
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
