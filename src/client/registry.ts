/**
 * The service registry of the SDK (`client.registry`) over Cairn's MembershipService:
 * register() keeps an instance registered for as long as the process wants it (see
 * registration.ts), subscribe() gives a live view of a service that client-side balancers
 * and the grpc-js resolver read (see service-view.ts), get() and list() read once.
 */
import type { CallOptions, Connection, Wire } from './connection.js';
import type { Leases } from './lease.js';
import { type RegisterOptions, Registration } from './registration.js';
import { type InstanceRegistration, instanceOf, type ServiceInstance } from './registry-types.js';
import { ServiceView, type ServiceViewOptions } from './service-view.js';

/** Register, subscribe to and read the service registry. */
export class Registry {
  private readonly registrations = new Set<Registration>();
  private readonly views = new Set<ServiceView>();

  constructor(
    private readonly connection: Connection,
    private readonly leases: Leases,
  ) {}

  /** Registers an instance on a lease of `ttlSeconds` kept alive, re-registering after a loss. */
  async register(instance: InstanceRegistration, options: RegisterOptions = {}): Promise<Registration> {
    const registration = await Registration.create(this.connection, this.leases, instance, options);
    this.registrations.add(registration);
    registration.onClosed(() => this.registrations.delete(registration));
    return registration;
  }

  /** A live view of a service's instances (or of every service under a prefix); close() it when done. */
  subscribe(service: string, options: ServiceViewOptions = {}): ServiceView {
    const view = new ServiceView(this.connection, service, options);
    this.views.add(view);
    view.onClosed(() => this.views.delete(view));
    return view;
  }

  /** One instance (linearizable); INSTANCE_NOT_FOUND if it is not registered. */
  async get(service: string, id: string, options: CallOptions = {}): Promise<ServiceInstance> {
    const r: Wire = await this.connection.unary(
      'MembershipService',
      'Get',
      { service, instance_id: id },
      { idempotent: true, ...options },
    );
    return instanceOf(r.instance);
  }

  /** Every instance of a service (or under a prefix), by service then id. */
  async list(service: string, options: ServiceViewOptions & CallOptions = {}): Promise<ServiceInstance[]> {
    const { prefix, ...call } = options;
    const r: Wire = await this.connection.unary(
      'MembershipService',
      'List',
      { service, prefix: prefix ?? false },
      { idempotent: true, ...call },
    );
    return ((r.instances ?? []) as Wire[]).map(instanceOf);
  }

  /** Closes every view, and deregisters (default) or abandons every registration. */
  async close(options: { deregister?: boolean } = {}): Promise<void> {
    for (const v of [...this.views]) v.close();
    const all = [...this.registrations];
    if (options.deregister === false) for (const r of all) r.abandon();
    else await Promise.allSettled(all.map((r) => r.deregister()));
  }
}
