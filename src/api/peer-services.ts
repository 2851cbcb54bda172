/**
 * Registers the services of the peer port: raft's transport, lease renewals forwarded to the
 * leader, and the Cluster service that joining members and forwarded promotions use.
 */
import type * as grpc from '@grpc/grpc-js';
import type { GrpcTransport } from '../transport/grpc-transport.js';
import { registerLeasePeer } from '../transport/lease-forwarding.js';
import { clusterHandlers } from './cluster-service.js';
import { serviceDefinitions } from './definitions.js';
import type { MemberContext } from './member-context.js';

/** Adds the peer-port services to `server`: LeasePeer, the raft transport, Cluster. */
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
}
