/**
 * Registers every service of the client port on one gRPC server: etcd's KV, Watch, Lease,
 * Maintenance, Cluster, Lock and Election, and Cairn's CoordinatorService, LockService and
 * MembershipService, with the coordination recipes and leader-only timers they need.
 */
import type * as grpc from '@grpc/grpc-js';
import { cairnService } from '../common/proto-loader.js';
import { ServiceRegistry } from '../coordination/membership.js';
import type { CoordinationLeases } from '../coordination/ports.js';
import { TxnCoordinator } from '../coordination/txn-coordinator.js';
import { TxnLeaderDuties } from '../coordination/txn-leader-duties.js';
import { hashStateMachine } from '../node/state-hash.js';
import { snapshotFileBody } from '../storage/snapshot-file.js';
import { cairnLockHandlers } from './cairn-lock-service.js';
import { clusterHandlers } from './cluster-service.js';
import { coordinationBackend } from './coordination-backend.js';
import { coordinatorHandlers } from './coordinator-service.js';
import { serviceDefinitions } from './definitions.js';
import { electionHandlers } from './election-service.js';
import { HubWatches } from './hub-watches.js';
import { kvHandlers } from './kv-service.js';
import { leaseHandlers } from './lease-service.js';
import { lockHandlers } from './lock-service.js';
import { maintenanceHandlers } from './maintenance-service.js';
import type { MemberContext } from './member-context.js';
import { membershipHandlers } from './membership-service.js';
import type { MaintenanceBackend } from './ports.js';
import { WatchService } from './watch-service.js';

/** How often the leader scans transaction records for passed deadlines and expired retention. */
const TXN_SCAN_INTERVAL_MS = 250;

/** The client services' own timers and streams, for the server's start and stop sequence. */
export interface ClientServices {
  /** Starts the leader-only transaction scans (after the node and member leases start). */
  start(): void;
  /**
   * Ends waiting Lock, Campaign and Observe calls, stops transaction scans and closes watch
   * streams, at once (call it before gRPC's graceful shutdown, which would wait on them); the
   * promise settles when a scan in flight has ended (await it after the node stops).
   */
  close(): Promise<void>;
}

/** Adds every client-port service to `server`, wired from the member's context. */
export function registerClientServices(server: grpc.Server, ctx: MemberContext): ClientServices {
  const { config, log, rootLogger, info, selfId, node: running, sm, storage, hub, memberLeases, quota } = ctx;
  const { status, backend, headerAt, proposeAlarm, coordinationLeadership } = ctx;
  const defs = serviceDefinitions();

  // Lock and Election: recipes over this member's KV, their waits served by the watch hub.
  const coordinationWatches = new HubWatches(hub);
  const coordination = coordinationBackend(
    {
      store: () => sm.kv.store,
      linearizableBarrier: () => running.linearizableBarrier(),
      propose: (kind, payload) => running.propose(kind, payload),
    },
    coordinationWatches,
  );
  // Sessions and leader-only timers for Cairn's own coordination services.
  const coordinationLeases: CoordinationLeases = {
    grant: async (ttlSeconds) => {
      quota.check(64);
      const r = await memberLeases.grant(0, ttlSeconds);
      return { id: r.id, ttlSeconds: r.ttlSeconds };
    },
    revoke: async (id) => {
      await memberLeases.revoke(id);
    },
    renew: (id) => memberLeases.renew(id),
    timeToLive: async (id) => {
      const r = await memberLeases.timeToLive(id, false);
      return { ttlSeconds: r.ttlSeconds, grantedTtlSeconds: r.grantedTtlSeconds };
    },
  };

  server.addService(
    defs.kv,
    kvHandlers(backend, {
      maxRequestBytes: config.maxRequestBytes,
      spaceCheck: (costBytes) => quota.check(costBytes),
    }) as grpc.UntypedServiceImplementation,
  );
  const maintenance: MaintenanceBackend = {
    header: backend.header,
    status,
    activeAlarms: () => sm.kv.alarms.list(),
    alarm: proposeAlarm,
    defragment: async () => {
      await running.snapshotNow();
      await storage.compactAll();
      const bytes = await quota.refresh();
      log.info({ dbSizeBytes: bytes }, 'defragmented');
    },
    hash: () => hashStateMachine(sm.kv),
    hashKV: (revision) => sm.kv.store.hashKV(revision),
    snapshot: () => snapshotFileBody(sm.snapshot()),
    requestTimeoutMs: config.requestTimeoutMs,
    leadership: {
      selfId,
      pollIntervalMs: config.heartbeatIntervalMs,
      leader: () => running.leader,
      isVoter: (id) => running.configuration.voters.includes(id),
      transferLeadership: (to) => running.transferLeadership(to),
    },
  };
  server.addService(
    defs.maintenance,
    maintenanceHandlers(info, maintenance) as grpc.UntypedServiceImplementation,
  );
  const watchService = new WatchService(
    hub,
    backend.header,
    {
      maxRequestBytes: config.maxRequestBytes,
      hasLeader: () => running.leader !== 0,
      leaderCheckIntervalMs: config.electionTimeoutMs,
      ...(config.watchProgressNotifyIntervalMs
        ? { progressNotifyIntervalMs: config.watchProgressNotifyIntervalMs }
        : {}),
    },
    rootLogger,
  );
  server.addService(defs.watch, watchService.handlers());
  server.addService(
    defs.cluster,
    clusterHandlers(info, status, ctx.membership(true)) as grpc.UntypedServiceImplementation,
  );
  server.addService(
    defs.lease,
    leaseHandlers(
      {
        grant: async (id, ttl) => {
          // A lease record is a few dozen bytes; past the quota it is refused as etcd does.
          quota.check(64);
          return memberLeases.grant(id, ttl);
        },
        revoke: (id) => memberLeases.revoke(id),
        renew: (id) => memberLeases.renew(id),
        timeToLive: (id, keys) => memberLeases.timeToLive(id, keys),
        list: () => memberLeases.list(),
        hasLeader: () => running.leader !== 0,
      },
      backend.header,
      rootLogger,
    ) as grpc.UntypedServiceImplementation,
  );
  server.addService(
    defs.lock,
    lockHandlers(coordination, headerAt) as unknown as grpc.UntypedServiceImplementation,
  );
  server.addService(
    defs.election,
    electionHandlers(coordination, headerAt) as unknown as grpc.UntypedServiceImplementation,
  );
  // Two-phase-commit records; deadlines and retention enforced by the leader only.
  const txnCoordinator = new TxnCoordinator(coordination);
  const txnDuties = new TxnLeaderDuties(txnCoordinator, coordinationLeadership, {
    scanIntervalMs: TXN_SCAN_INTERVAL_MS,
    logger: rootLogger.child({ component: 'txn-coordinator' }),
  });
  server.addService(
    cairnService('coordinator.proto', 'CoordinatorService').service,
    coordinatorHandlers(
      txnCoordinator,
      coordination,
      headerAt,
    ) as unknown as grpc.UntypedServiceImplementation,
  );
  // Cairn's own LockService: fenced locks with queries, on the same keys as etcd's Lock.
  server.addService(
    cairnService('lock.proto', 'LockService').service,
    cairnLockHandlers(
      coordination,
      coordinationLeases,
      backend.header,
    ) as unknown as grpc.UntypedServiceImplementation,
  );
  // Cairn's MembershipService: the registry client-side balancers subscribe to.
  server.addService(
    cairnService('membership.proto', 'MembershipService').service,
    membershipHandlers(
      new ServiceRegistry(coordination, coordinationLeases),
      coordination,
      headerAt,
      backend.header,
    ) as unknown as grpc.UntypedServiceImplementation,
  );

  return {
    start: () => txnDuties.start(),
    close: () => {
      // Waiting Lock, Campaign and Observe calls end first, or the graceful shutdown waits on them.
      coordinationWatches.stop();
      // No new transaction scans; one in flight ends when the node stops under it.
      const txnDutiesStopped = txnDuties.stop();
      watchService.close();
      return txnDutiesStopped;
    },
  };
}
