/**
 * The replicated lease table: which leases exist and the TTL each was granted. It holds no
 * clock: when a lease expires is decided by the leader's runtime (node/lease-keeper.ts),
 * which proposes a revoke; apply only grants and removes, so every member agrees.
 */
import { assert } from '../common/assert.js';

/** A lease as the state machine knows it. */
export interface LeaseRecord {
  readonly id: number;
  /** The TTL the lease was granted with, after the server's minimum was applied. */
  readonly ttlSeconds: number;
}

/** etcd's largest lease TTL (lease.MaxLeaseTTL). */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000;

/** The leases that exist, by id. */
export class LeaseTable {
  /** Invariant: no lease has id 0 (0 means "no lease" on a key). */
  private readonly leases = new Map<number, LeaseRecord>();

  /** Whether a lease exists. */
  has(id: number): boolean {
    return this.leases.has(id);
  }

  /** A lease by id. */
  get(id: number): LeaseRecord | undefined {
    return this.leases.get(id);
  }

  /** Adds a lease; the caller checked it does not exist. */
  add(record: LeaseRecord): void {
    assert(record.id !== 0, 'lease id 0 is reserved');
    assert(!this.leases.has(record.id), () => `lease ${record.id} already exists`);
    this.leases.set(record.id, record);
  }

  /** Removes a lease; the caller checked it exists. */
  remove(id: number): void {
    assert(this.leases.delete(id), () => `lease ${id} does not exist`);
  }

  /** Every lease, in id order (deterministic for snapshots and listings). */
  all(): LeaseRecord[] {
    return [...this.leases.values()].sort((a, b) => a.id - b.id);
  }

  /** The number of leases. */
  get size(): number {
    return this.leases.size;
  }
}
