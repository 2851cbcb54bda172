/**
 * Leases for the in-process recipe tests: an InProcessKv whose store checks lease ids
 * against its own lease table, and CoordinationLeases that grant and revoke through the
 * store's own commands, so revoking a lease deletes its keys in one revision (and the watch
 * hub hears of it) as it does in a member.
 */
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import type { CoordinationLeases } from '../../src/coordination/ports.js';
import type { MvccStore } from '../../src/mvcc/index.js';
import { InProcessKv } from './support.js';

/** An InProcessKv that refuses keys bound to leases it has not granted. */
export function leasedKv(): InProcessKv {
  let store: MvccStore | undefined;
  const kv = new InProcessKv({ leaseExists: (id) => store?.lease(id) !== undefined });
  store = kv.store;
  return kv;
}

/** CoordinationLeases over an InProcessKv's store (no clock: a lease ends when revoked). */
export class InProcessLeases implements CoordinationLeases {
  private nextId = 0x100;

  constructor(private readonly kv: InProcessKv) {}

  async grant(ttlSeconds: number): Promise<{ id: number; ttlSeconds: number }> {
    const id = this.nextId++;
    this.kv.apply({ type: 'leaseGrant', id, ttlSeconds });
    return { id, ttlSeconds };
  }

  async revoke(id: number): Promise<void> {
    if (!this.kv.store.lease(id))
      throw new CairnError(ErrorCode.LEASE_NOT_FOUND, 'etcdserver: requested lease not found');
    this.kv.apply({ type: 'leaseRevoke', id });
  }

  async renew(id: number): Promise<number> {
    return this.kv.store.lease(id)?.ttlSeconds ?? 0;
  }

  async timeToLive(id: number): Promise<{ ttlSeconds: number; grantedTtlSeconds: number }> {
    const l = this.kv.store.lease(id);
    return l
      ? { ttlSeconds: l.ttlSeconds, grantedTtlSeconds: l.ttlSeconds }
      : { ttlSeconds: -1, grantedTtlSeconds: 0 };
  }
}
