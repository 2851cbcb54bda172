// Proves the leader's lease clock with a fake monotonic clock and a fake proposer: a member that becomes leader gives every lease its TTL plus the extension, keep-alives reset deadlines, an expired lease is proposed for revoke once (and again only if the proposal failed), an expired lease answers 0 to keep-alives, mass expiry is rate-limited per second, and a follower keeps no deadlines at all.
import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import { createRootLogger } from '../../src/common/logger.js';
import type { LeaseRecord } from '../../src/mvcc/index.js';
import { LeaseKeeper } from '../../src/node/lease-keeper.js';

function setup(leases: LeaseRecord[], revokesPerSecondMax = 1000) {
  let now = 1_000;
  const table = new Map(leases.map((l) => [l.id, l]));
  const proposed: number[] = [];
  let failNext = false;
  const keeper = new LeaseKeeper({
    nowMs: () => now,
    promotionExtensionMs: 500,
    revokesPerSecondMax,
    lookup: (id) => table.get(id),
    all: () => [...table.values()],
    proposeRevoke: async (id) => {
      proposed.push(id);
      if (failNext) {
        failNext = false;
        throw new CairnError(ErrorCode.NO_LEADER, 'no leader');
      }
      table.delete(id);
      keeper.onRevoked(id);
    },
    logger: createRootLogger({ name: 't', level: 'silent' }),
  });
  return {
    keeper,
    table,
    proposed,
    advance: (ms: number) => {
      now += ms;
    },
    failNextProposal: () => {
      failNext = true;
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('lease keeper', () => {
  it('a follower keeps no deadlines: renew and remaining refuse with NOT_LEADER, nothing is revoked', () => {
    const { keeper, advance } = setup([{ id: 1, ttlSeconds: 1 }]);
    expect(() => keeper.renew(1)).toThrow(/not leader/);
    expect(() => keeper.remaining(1)).toThrow(/not leader/);
    advance(10_000);
    expect(keeper.revokeExpired()).toEqual([]);
  });

  it('promotion gives every lease its TTL plus the extension; nothing expires before that', () => {
    const { keeper, advance } = setup([{ id: 1, ttlSeconds: 2 }]);
    keeper.promote();
    expect(keeper.remaining(1)).toEqual({ ttlSeconds: 2, grantedTtlSeconds: 2 });
    advance(2_400);
    expect(keeper.revokeExpired()).toEqual([]);
    advance(100);
    expect(keeper.revokeExpired()).toEqual([1]);
  });

  it('a keep-alive resets the deadline to a whole TTL from now', () => {
    const { keeper, advance } = setup([{ id: 1, ttlSeconds: 2 }]);
    keeper.promote();
    advance(2_000);
    expect(keeper.renew(1)).toBe(2);
    advance(1_999);
    expect(keeper.revokeExpired()).toEqual([]);
    advance(1);
    expect(keeper.revokeExpired()).toEqual([1]);
  });

  it('an expired lease is proposed once; keep-alives for it answer 0; it is retried only after a failed proposal', async () => {
    const { keeper, advance, proposed, failNextProposal, table } = setup([{ id: 7, ttlSeconds: 1 }]);
    keeper.promote();
    advance(1_500);
    failNextProposal();
    expect(keeper.revokeExpired()).toEqual([7]);
    expect(keeper.revokeExpired()).toEqual([]); // in flight: not proposed twice
    expect(keeper.renew(7)).toBe(0);
    await flush();
    expect(table.has(7)).toBe(true); // the first proposal failed
    advance(1_000);
    expect(keeper.revokeExpired()).toEqual([7]);
    await flush();
    expect(table.has(7)).toBe(false);
    expect(proposed).toEqual([7, 7]);
    expect(keeper.renew(7)).toBe(0);
  });

  it('mass expiry is rate-limited per second, oldest deadline first', () => {
    const leases = Array.from({ length: 25 }, (_, i) => ({ id: i + 1, ttlSeconds: 1 + (i % 5) }));
    const { keeper, advance } = setup(leases, 10);
    keeper.promote();
    advance(60_000);
    const first = keeper.revokeExpired();
    expect(first).toHaveLength(10);
    expect(first.every((id) => leases[id - 1]!.ttlSeconds === 1 || leases[id - 1]!.ttlSeconds === 2)).toBe(
      true,
    );
    expect(keeper.revokeExpired()).toEqual([]); // budget spent for this second
    advance(1_000);
    expect(keeper.revokeExpired()).toHaveLength(10);
  });

  it('a lease granted while leading gets its TTL from the grant; demotion forgets every deadline', () => {
    const { keeper, advance, table } = setup([]);
    keeper.promote();
    const lease = { id: 3, ttlSeconds: 5 };
    table.set(3, lease);
    keeper.onGranted(lease);
    advance(4_000);
    expect(keeper.remaining(3)?.ttlSeconds).toBe(1);
    keeper.demote();
    advance(10_000);
    expect(keeper.revokeExpired()).toEqual([]);
    keeper.promote();
    expect(keeper.remaining(3)?.ttlSeconds).toBe(5);
  });
});
