/**
 * Proves two races of a registration with its lease are handled. A lease lost while the
 * Register call is still in flight (the keep-alive cannot get through during a fault, and the
 * call outlasts the TTL) is noticed and the instance registers again on a new lease, instead
 * of believing itself registered on a dead lease while the cluster expires its records (found
 * by the chaos membership checker, seed 900: an instance vanished from every view for good).
 * And a state set while a re-registration's Register is in flight reaches the cluster once
 * the registration is restored. Fakes stand in for the connection and the lease service, so
 * the races are forced, not timed.
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

/** Register number n answers after `during(n)` ran (there the test loses the lease or sets a state). */
class FakeConnection {
  readonly registered: number[] = [];
  readonly states: number[] = [];
  constructor(private readonly during: (n: number) => void) {}
  backoffMs(): number {
    return 1;
  }
  async unary(_service: string, method: string, request: Wire): Promise<Wire> {
    if (method === 'SetState') {
      this.states.push(Number(request.state));
      return {
        instance: { service: request.service, instance_id: request.instance_id, state: request.state },
      };
    }
    if (method !== 'Register') return {};
    this.registered.push(Number(request.lease));
    this.during(this.registered.length);
    return {
      instance: {
        service: request.service,
        instance_id: request.instance_id,
        lease: request.lease,
        state: request.state,
      },
    };
  }
}

describe('registration lease lost during Register', () => {
  it('registers again on a new lease', async () => {
    const leases = new FakeLeases();
    const connection = new FakeConnection((n) => {
      if (n === 1) leases.granted[0]!.markLost('expired');
    });
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

  it('sends a state set during a re-registration once it is restored', async () => {
    const leases = new FakeLeases();
    let registration: Registration | undefined;
    const connection = new FakeConnection((n) => {
      if (n === 2) void registration!.setState('DRAINING');
    });
    registration = await Registration.create(
      connection as unknown as Connection,
      leases as unknown as Leases,
      { service: 'svc', id: 'i0', address: 'h:1' },
      { ttlSeconds: 3 },
    );
    leases.granted[0]!.markLost('expired');
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (registration!.instance.state === 'DRAINING' || connection.registered.length > 2) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
      setTimeout(() => {
        clearInterval(poll);
        resolve();
      }, 2000);
    });
    expect(connection.registered).toEqual([100, 101]);
    expect(connection.states).toEqual([2]);
    expect(registration.instance.state).toBe('DRAINING');
    registration.abandon();
  });
});
