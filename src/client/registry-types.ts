/**
 * The service registry's vocabulary on the client side: instances as the SDK hands them out
 * (the balancers' `Instance` plus what the registry records), what register() takes, and the
 * mapping from cairn.v1.Instance as proto-loader decodes it (snake_case, enums as numbers).
 */

import type { Instance, InstanceState } from './balancers/types.js';
import type { Wire } from './connection.js';

/** An instance as the registry records it; usable wherever a balancer takes an `Instance`. */
export interface ServiceInstance extends Instance {
  /** The service it belongs to. */
  service: string;
  /** Free-form labels given at registration. */
  metadata: Record<string, string>;
  /** The lease its records are bound to. */
  lease: number;
  /** The revision of its first registration (the record key's create revision). */
  registeredAtRevision: number;
  /** The revision of its record's last change. */
  updatedAtRevision: number;
  /** When the instance last reported load (server clock, ms since epoch); absent before any report. */
  loadReportedAtUnixMs?: number;
}

/** What an instance registers as. */
export interface InstanceRegistration {
  /** The service name ('/' allowed inside, not at either end). */
  service: string;
  /** The instance's id, unique within the service (no '/'). */
  id: string;
  /** Where clients reach it (host:port). */
  address: string;
  /** Relative share of traffic (default 1). */
  weight?: number;
  /** Zone or locality label. */
  zone?: string;
  /** Free-form labels. */
  metadata?: Record<string, string>;
  /** The state to register in (default SERVING). */
  state?: InstanceState;
}

/** Numbers of cairn.v1.InstanceState. */
export const STATE_NUMBER: Record<InstanceState, number> = { SERVING: 1, DRAINING: 2, DOWN: 3 };
const STATE_BY_NUMBER: Record<number, InstanceState> = { 1: 'SERVING', 2: 'DRAINING', 3: 'DOWN' };

/** cairn.v1.ChangeType.CHANGE_TYPE_DELETE. */
export const CHANGE_TYPE_DELETE = 2;

/** The request of Register for an instance bound to an existing lease. */
export function registerRequest(instance: InstanceRegistration, lease: number, state: InstanceState): Wire {
  return {
    service: instance.service,
    instance_id: instance.id,
    address: instance.address,
    weight: instance.weight ?? 1,
    zone: instance.zone ?? '',
    metadata: instance.metadata ?? {},
    ttl_seconds: 0,
    lease,
    state: STATE_NUMBER[state],
  };
}

/** A decoded cairn.v1.Instance as a ServiceInstance. */
export function instanceOf(w: Wire): ServiceInstance {
  const out: ServiceInstance = {
    service: String(w.service ?? ''),
    id: String(w.instance_id ?? ''),
    address: String(w.address ?? ''),
    weight: Number(w.weight ?? 1),
    state: STATE_BY_NUMBER[Number(w.state ?? 0)] ?? 'DOWN',
    metadata: { ...((w.metadata ?? {}) as Record<string, string>) },
    lease: Number(w.lease ?? 0),
    registeredAtRevision: Number(w.registered_at_revision ?? 0),
    updatedAtRevision: Number(w.updated_at_revision ?? 0),
  };
  const zone = String(w.zone ?? '');
  if (zone !== '') out.zone = zone;
  if (w.load) {
    out.load = { inFlight: Number(w.load.in_flight ?? 0), cpu: Number(w.load.cpu_utilization ?? 0) };
    out.loadReportedAtUnixMs = Number(w.load.reported_at_unix_ms ?? 0);
  }
  return out;
}
