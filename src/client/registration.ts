/**
 * A registered instance kept registered: its records are bound to a lease the SDK keeps alive
 * (Leases' shared keep-alive stream), and when that lease is lost (revoked elsewhere, expired
 * during a partition, the cluster lost it) the registration emits `lost`, grants a new lease
 * and registers again, with backoff, until it succeeds (`restored`) or is closed. The state
 * last asked for with setState is the one re-registered.
 */
import { EventEmitter } from 'node:events';
import { ErrorCode } from '../common/errors.js';
import type { InstanceState } from './balancers/types.js';
import type { Connection, Wire } from './connection.js';
import { type ClientError, isClientError, toClientError } from './errors.js';
import type { Lease, Leases } from './lease.js';
import {
  type InstanceRegistration,
  instanceOf,
  registerRequest,
  type ServiceInstance,
  STATE_NUMBER,
} from './registry-types.js';

/** How an instance registers. */
export interface RegisterOptions {
  /** TTL of the lease the records are bound to (default 10 s); the instance disappears this long after its process dies. */
  ttlSeconds?: number;
}

/** Load an instance reports about itself. */
export interface LoadReport {
  /** Calls in flight on the instance now. */
  inFlight: number;
  /** CPU utilisation (0 = idle, 1 = fully busy). */
  cpu: number;
}

/** Events of a Registration. */
export interface RegistrationEvents {
  /** The lease was lost: the instance's records must be presumed gone until `restored`. */
  lost: [error?: ClientError];
  /** Registered again on a new lease after a loss. */
  restored: [instance: ServiceInstance];
  /** A re-registration attempt failed (it is retried); emitted only when someone listens. */
  error: [error: ClientError];
}

/** The default TTL of a registration's lease (seconds). */
export const REGISTRATION_TTL_SECONDS_DEFAULT = 10;

/** A live registration of one instance. */
export class Registration extends EventEmitter<RegistrationEvents> {
  private current: ServiceInstance;
  private wantedState: InstanceState;
  private leaseNow: Lease;
  /** Whether the records are believed to exist (false between `lost` and `restored`). */
  private registered = true;
  private closed = false;
  private readonly stopController = new AbortController();
  private readonly closeListeners: (() => void)[] = [];

  private constructor(
    private readonly connection: Connection,
    private readonly leases: Leases,
    private readonly spec: InstanceRegistration,
    private readonly ttlSeconds: number,
    lease: Lease,
    instance: ServiceInstance,
  ) {
    super();
    this.current = instance;
    this.wantedState = instance.state;
    this.leaseNow = lease;
    this.watchLease(lease);
  }

  /** Grants a lease, registers on it, and returns the registration that keeps it so. */
  static async create(
    connection: Connection,
    leases: Leases,
    spec: InstanceRegistration,
    options: RegisterOptions = {},
  ): Promise<Registration> {
    const ttlSeconds = options.ttlSeconds ?? REGISTRATION_TTL_SECONDS_DEFAULT;
    const state = spec.state ?? 'SERVING';
    const { lease, instance } = await registerOnNewLease(connection, leases, spec, ttlSeconds, state);
    return new Registration(connection, leases, { ...spec }, ttlSeconds, lease, instance);
  }

  /** The record as last written by this registration. */
  get instance(): ServiceInstance {
    return this.current;
  }

  /** The lease the records are bound to now (a new one after each restore). */
  get lease(): Lease {
    return this.leaseNow;
  }

  /** Whether the records are believed to exist now. */
  get isRegistered(): boolean {
    return this.registered && !this.closed;
  }

  /** Re-registers when the lease is lost, including a loss before this was called (during Register). */
  private watchLease(lease: Lease): void {
    const onLost = (error?: ClientError): void => {
      if (this.closed || lease !== this.leaseNow) return;
      this.registered = false;
      this.emit('lost', ...(error ? [error] : []));
      void this.reRegister();
    };
    if (lease.isLost) queueMicrotask(() => onLost());
    else lease.once('lost', (_reason, error) => onLost(error));
  }

  private async reRegister(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      await sleep(this.connection.backoffMs(attempt), this.stopController.signal);
      if (this.closed) return;
      try {
        const r = await registerOnNewLease(
          this.connection,
          this.leases,
          this.spec,
          this.ttlSeconds,
          this.wantedState,
        );
        if (this.closed) {
          await r.lease.revoke().catch(() => undefined);
          return;
        }
        this.leaseNow = r.lease;
        this.current = r.instance;
        this.registered = true;
        this.watchLease(r.lease);
        this.emit('restored', r.instance);
        // A state asked for while Register was in flight was not sent anywhere: send it now.
        if (this.current.state !== this.wantedState)
          await this.setState(this.wantedState).catch((err: unknown) => {
            if (this.listenerCount('error') > 0) this.emit('error', toClientError(err));
          });
        return;
      } catch (err) {
        if (this.listenerCount('error') > 0) this.emit('error', toClientError(err));
      }
    }
  }

  /** Sets SERVING, DRAINING or DOWN (DRAINING: finish what you have, take no new calls); kept across re-registrations. */
  async setState(state: InstanceState): Promise<ServiceInstance> {
    this.wantedState = state;
    if (!this.isRegistered) return this.current;
    const r = await this.connection.unary(
      'MembershipService',
      'SetState',
      { service: this.spec.service, instance_id: this.spec.id, state: STATE_NUMBER[state] },
      { leader: true, idempotent: true },
    );
    this.current = instanceOf(r.instance);
    return this.current;
  }

  /** Records the load the instance reports; skipped (undefined) while the registration is lost. */
  async reportLoad(load: LoadReport): Promise<ServiceInstance | undefined> {
    if (!this.isRegistered) return undefined;
    const r = await this.connection.unary(
      'MembershipService',
      'ReportLoad',
      {
        service: this.spec.service,
        instance_id: this.spec.id,
        in_flight: Math.max(0, Math.round(load.inFlight)),
        cpu_utilization: load.cpu,
      },
      { leader: true, idempotent: true },
    );
    this.current = instanceOf(r.instance);
    return this.current;
  }

  /** Removes the instance's records and revokes its lease; answers the revision of the removal (0 if already gone). */
  async deregister(): Promise<number> {
    if (this.closed) return 0;
    this.stop();
    let revision = 0;
    try {
      const r: Wire = await this.connection.unary(
        'MembershipService',
        'Deregister',
        { service: this.spec.service, instance_id: this.spec.id },
        { leader: true, idempotent: true },
      );
      revision = Number(r.header?.revision ?? 0);
    } catch (err) {
      if (!isClientError(err, ErrorCode.INSTANCE_NOT_FOUND)) {
        this.leaseNow.release();
        throw err;
      }
    }
    await this.leaseNow.revoke().catch(() => undefined);
    return revision;
  }

  /**
   * Stops keeping the lease alive without deregistering, as if the process had died: the
   * records disappear when the lease runs out on the cluster (within its TTL).
   */
  abandon(): void {
    if (this.closed) return;
    this.stop();
    this.leaseNow.release();
  }

  /** Runs `listener` once when the registration is deregistered or abandoned. */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  private stop(): void {
    this.closed = true;
    this.stopController.abort();
    for (const l of this.closeListeners.splice(0)) l();
  }
}

/** Grants a kept lease and registers on it; a lease the registration could not use is revoked. */
async function registerOnNewLease(
  connection: Connection,
  leases: Leases,
  spec: InstanceRegistration,
  ttlSeconds: number,
  state: InstanceState,
): Promise<{ lease: Lease; instance: ServiceInstance }> {
  const lease = await leases.grant(ttlSeconds);
  try {
    const r = await connection.unary(
      'MembershipService',
      'Register',
      registerRequest(spec, lease.id, state),
      {
        leader: true,
        idempotent: true,
      },
    );
    return { lease, instance: instanceOf(r.instance) };
  } catch (err) {
    await lease.revoke().catch(() => undefined);
    throw err;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
