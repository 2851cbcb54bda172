/**
 * Proves a cluster spread over three hosts survives losing one and lets it catch up: three
 * network namespaces with their own addresses (cluster/netns.ts) each run a member over TLS;
 * a write goes through one host; the leader host's link is taken down; the other two still have a
 * leader among them and take more writes; the link comes back and the third host's
 * serializable read (its own applied state, no leader involved) returns the latest value at
 * the same revision as the others. Skipped, with the reason in its title, when not root or
 * when `ip netns` is missing. afterAll stops the members and removes namespaces, links and
 * bridge; every name carries a random id.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsUnavailable, startThreeHosts, type ThreeHosts } from '../../cluster/netns.js';
import { Client } from '../../src/client/client.js';
import { TEST_ENTRY } from '../support/entry.js';
import { eventually } from '../support/eventually.js';
import { freePorts } from '../support/ports.js';

const unavailable = netnsUnavailable();
const title = unavailable ? `three hosts (skipped: ${unavailable})` : 'three hosts';

/** A /24 this machine does not use yet (the script refuses one in use). */
function someSubnet(): string {
  return `10.77.${randomInt(0, 250)}`;
}

describe.skipIf(unavailable !== undefined)(title, { timeout: 240_000 }, () => {
  let hosts: ThreeHosts | undefined;
  const clients: Client[] = [];

  /** An SDK client over TLS to some hosts. */
  function client(names: readonly string[], deadlineMs = 5_000): Client {
    const c = new Client({ endpoints: hosts!.clientUrls(names), tls: hosts!.clientTls, deadlineMs });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    const [clientPort, peerPort] = await freePorts(2);
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3 && !hosts; attempt++) {
      try {
        hosts = await startThreeHosts({
          subnet: someSubnet(),
          entry: TEST_ENTRY,
          clientPort: clientPort!,
          peerPort: peerPort!,
          extraFlags: ['--heartbeat-interval=50', '--election-timeout=500'],
        });
      } catch (err) {
        lastErr = err;
        if (!/already used/.test((err as Error).message)) throw err;
      }
    }
    if (!hosts) throw lastErr;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hosts?.teardown();
  });

  it('two hosts keep serving while the third is cut off, and the third catches up when it is back', async () => {
    const h = hosts!;
    expect(h.hosts.map((x) => x.address)).toEqual(
      [1, 2, 3].map((i) => `${h.hosts[0]!.address.replace(/\.1$/, '')}.${i}`),
    );
    const viaN1 = client(['n1']);
    await eventually(() => viaN1.kv.put('ledger/balance', '100'), 30_000);
    const first = await viaN1.kv.get('ledger/balance');
    expect(first.kvs[0]?.value.toString()).toBe('100');

    // Cut off the leader (the harder case: the other two must elect one of their own).
    const leaderId = (await eventually(() => viaN1.maintenance.status(), 10_000)).leaderId;
    const statusOf = (name: string) => eventually(() => client([name]).maintenance.status(), 10_000);
    const byId = new Map<number, string>();
    for (const name of ['n1', 'n2', 'n3']) byId.set((await statusOf(name)).memberId, name);
    const victim = byId.get(leaderId) ?? 'n3';
    const others = ['n1', 'n2', 'n3'].filter((x) => x !== victim);
    h.cut(victim);
    await expect(client([victim], 1_500).maintenance.status()).rejects.toThrow();

    const pair = client(others);
    // The two connected members have (or elect) a leader between them; writes succeed.
    const written = await eventually(() => pair.kv.put('ledger/balance', '250'), 30_000);
    for (let i = 0; i < 5; i++)
      await eventually(() => pair.kv.put(`ledger/entry/${i}`, `credit ${i}`), 30_000);
    const last = await eventually(() => pair.kv.put('ledger/balance', '300'), 30_000);
    expect(last.revision).toBeGreaterThan(written.revision);
    const statuses = await Promise.all(others.map(statusOf));
    const ids = statuses.map((s) => s.memberId);
    for (const s of statuses) expect(ids).toContain(s.leaderId);

    h.heal(victim);
    const viaN3 = client([victim]);
    await eventually(
      async () => {
        const r = await viaN3.kv.get('ledger/balance', { serializable: true });
        expect(r.kvs[0]?.value.toString()).toBe('300');
        expect(r.revision).toBe(last.revision);
        const entries = await viaN3.kv.get('ledger/entry/', { prefix: true, serializable: true });
        expect(entries.kvs.map((kv) => kv.value.toString())).toEqual(
          [0, 1, 2, 3, 4].map((i) => `credit ${i}`),
        );
      },
      60_000,
      250,
    );
  });
});
