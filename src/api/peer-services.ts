/**
 * Registers the services of the peer port: raft's transport, lease renewals forwarded to the
 * leader, the Cluster service that joining members and forwarded promotions use, and
 * Maintenance.Status alone (the other Maintenance calls answer UNIMPLEMENTED there), which a
 * member's metrics listener polls its peers with.
 */
import type * as grpc from '@grpc/grpc-js';
import type { GrpcTransport } from '../transport/grpc-transport.js';
import { registerLeasePeer } from '../transport/lease-forwarding.js';
import { clusterHandlers } from './cluster-service.js';
import { serviceDefinitions } from './definitions.js';
import { maintenanceHandlers } from './maintenance-service.js';
import type { MemberContext } from './member-context.js';
import type { MaintenanceBackend } from './ports.js';

/** Adds the peer-port services to `server`: LeasePeer, the raft transport, Cluster, Maintenance.Status. */
export function registerPeerServices(
  server: grpc.Server,
  ctx: MemberContext,
  transport: GrpcTransport,
): void {
  const { info, memberLeases, status } = ctx;
  registerLeasePeer(server, info.clusterId, () => ({
    renew: (id) => memberLeases.renewAsLeader(id),
    timeToLive: (id) => memberLeases.timeToLiveAsLeader(id),
  }));
  transport.registerOn(server);
  // The peer URL serves the member list (for joining members) and promotions forwarded to the leader.
  server.addService(
    serviceDefinitions().cluster,
    clusterHandlers(info, status, ctx.membership(false)) as grpc.UntypedServiceImplementation,
  );
  // Status reads nothing but these two; the rest of the backend is never called here.
  const statusOnly = { status, activeAlarms: () => ctx.sm.kv.alarms.list() } as Partial<MaintenanceBackend>;
  const { Status } = maintenanceHandlers(info, statusOnly as MaintenanceBackend);
  server.addService(serviceDefinitions().maintenance, {
    Status,
  } as unknown as grpc.UntypedServiceImplementation);
}
