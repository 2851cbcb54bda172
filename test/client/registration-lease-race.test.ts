/**
 * Proves that a registration whose lease is lost while its Register call is still in flight
 * (the keep-alive cannot get through during a fault, and the call outlasts the TTL) notices
 * the loss and registers again on a new lease, instead of believing itself registered on a
 * dead lease while the cluster expires its records (found by the chaos membership checker,
 * seed 900: an instance vanished from every view and never came back). Fakes stand in for the
 * connection and the lease service, so the race is forced, not timed.
 */
import { describe, expect, it } from 'vitest';
import type { Connection, Wire } from '../../src/client/connection.js';
import { Lease, type Leases } from '../../src/client/lease.js';
import { Registration } from '../../src/client/registration.js';

class FakeLeases {
  readonly granted: Lease[] = [];
  forget(): void {}
  sendKeepAlive(): void {}
  abandonStream(): void {}
  async grant(ttlSeconds: number): Promise<Lease> {
    const lease = new Lease(this as unknown as Leases, 100 + this.granted.length, ttlSeconds, Date.now());
    this.granted.push(lease);
    return lease;
  }
  async revoke(): Promise<void> {}
}

/** Register answers after `duringFirstRegister` ran (there the test loses the lease). */
class FakeConnection {
  readonly registered: number[] = [];
  constructor(private readonly duringFirstRegister: () => void) {}
  backoffMs(): number {
    return 1;
  }
  async unary(_service: string, method: string, request: Wire): Promise<Wire> {
    if (method !== 'Register') return {};
    this.registered.push(Number(request.lease));
    if (this.registered.length === 1) this.duringFirstRegister();
    return {
      instance: {
        service: request.service,
        instance_id: request.instance_id,
        lease: request.lease,
        state: 1,
      },
    };
  }
}

describe('registration lease lost during Register', () => {
  it('registers again on a new lease', async () => {
    const leases = new FakeLeases();
    const connection = new FakeConnection(() => leases.granted[0]!.markLost('expired'));
    const registration = await Registration.create(
      connection as unknown as Connection,
      leases as unknown as Leases,
      { service: 'svc', id: 'i0', address: 'h:1' },
      { ttlSeconds: 3 },
    );
    const restored = await new Promise<boolean>((resolve) => {
      registration.once('restored', () => resolve(true));
      setTimeout(() => resolve(false), 2000);
    });
    expect(restored, 'restored on a new lease').toBe(true);
    expect(connection.registered).toEqual([100, 101]);
    expect(registration.lease.id).toBe(101);
    expect(registration.isRegistered).toBe(true);
    registration.abandon();
  });
});
