/**
 * Registers every service of the client port on one gRPC server: etcd's KV, Watch, Lease,
 * Maintenance, Cluster, Lock and Election, and Cairn's CoordinatorService, LockService and
 * MembershipService, with the coordination recipes and leader-only timers they need.
 */
import type * as grpc from '@grpc/grpc-js';
import { encodeAuthCommand } from '../auth/commands.js';
import { cairnService } from '../common/proto-loader.js';
import { ServiceRegistry } from '../coordination/membership.js';
import type { CoordinationLeases } from '../coordination/ports.js';
import { TxnCoordinator } from '../coordination/txn-coordinator.js';
import { TxnLeaderDuties } from '../coordination/txn-leader-duties.js';
import { EntryKind } from '../node/envelope.js';
import { hashStateMachine } from '../node/state-hash.js';
import { snapshotFileBody } from '../storage/snapshot-file.js';
import { AuthGate } from './auth-gate.js';
import { type AuthRule, guardService, OPEN } from './auth-guard.js';
import { authHandlers, authServiceRules } from './auth-service.js';
import { authorizedCoordination } from './authorized-coordination.js';
import { cairnLockHandlers } from './cairn-lock-service.js';
import { clusterHandlers } from './cluster-service.js';
import { coordinationBackend } from './coordination-backend.js';
import { coordinatorHandlers } from './coordinator-service.js';
import { serviceDefinitions } from './definitions.js';
import { electionHandlers } from './election-service.js';
import { HubWatches } from './hub-watches.js';
import { kvHandlers } from './kv-service.js';
import { deleteFromWire, putFromWire, rangeFromWire, txnFromWire } from './kv-wire.js';
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
  /** Who may call what: callers, tokens and permission checks. */
  readonly gate: AuthGate;
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

  // Auth: every service below is guarded; the gate hears every applied auth change.
  const gate = new AuthGate(() => sm.kv.auth, { clientCertAuth: config.clientCertAuth });
  sm.kv.authListener = gate;
  const keysOfLease = (id: number) => sm.kv.store.keysOfLease(id);
  const user: AuthRule = (c) => {
    gate.requireUser(c);
  };
  const admin: AuthRule = (c) => gate.requireAdmin(c);
  // A KV rule decodes the request to check it; with auth off there is nothing to check.
  const whileAuthOn =
    (rule: AuthRule): AuthRule =>
    (c, w) => {
      if (gate.enabled) rule(c, w);
    };
  // A caller with a user is carried in callerContext into the work its call starts (see guardService).
  const add = (
    def: grpc.ServiceDefinition,
    impl: unknown,
    rules: Record<string, AuthRule>,
    fallback: AuthRule,
  ): void =>
    server.addService(
      def,
      guardService(def, impl as grpc.UntypedServiceImplementation, gate, rules, fallback),
    );

  // Lock and Election: recipes over this member's KV, their waits served by the watch hub;
  // every key they touch while serving a call is checked against that call's caller.
  const coordinationWatches = new HubWatches(hub);
  const unrestricted = coordinationBackend(
    {
      store: () => sm.kv.store,
      linearizableBarrier: () => running.linearizableBarrier(),
      propose: (kind, payload) => running.propose(kind, payload),
    },
    coordinationWatches,
  );
  const coordination = authorizedCoordination(unrestricted, gate, () => sm.kv.store);
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

  add(
    defs.kv,
    kvHandlers(backend, {
      maxRequestBytes: config.maxRequestBytes,
      spaceCheck: (costBytes) => quota.check(costBytes),
    }),
    {
      Range: whileAuthOn((c, w) => gate.checkRange(c, rangeFromWire(w))),
      Put: whileAuthOn((c, w) => gate.checkPut(c, putFromWire(w), keysOfLease)),
      DeleteRange: whileAuthOn((c, w) => gate.checkDelete(c, deleteFromWire(w))),
      Txn: whileAuthOn((c, w) => gate.checkTxn(c, txnFromWire(w), keysOfLease)),
    },
    user,
  );
  add(
    defs.auth,
    authHandlers(gate, {
      header: backend.header,
      linearizableBarrier: () => running.linearizableBarrier(),
      propose: async (command) => {
        const r = await running.propose(EntryKind.Auth, encodeAuthCommand(command));
        if (!r.ok) throw r.error;
        return (r.response as unknown as { authRevision: number }).authRevision;
      },
    }),
    authServiceRules(gate),
    admin,
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
      transferring: () => running.transferring,
    },
  };
  add(
    defs.maintenance,
    maintenanceHandlers(info, maintenance),
    {
      Status: OPEN,
      // Reading the alarms needs a user; raising or clearing one needs root.
      Alarm: (c, w) => (Number(w?.action ?? 0) === 0 ? user(c, w) : admin(c, w)),
    },
    admin,
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
      authorizer: gate,
    },
    rootLogger,
  );
  // Watch: any caller may open the stream; each create is checked (and re-checked on auth changes).
  add(defs.watch, watchService.handlers(), {}, OPEN);
  add(defs.cluster, clusterHandlers(info, status, ctx.membership(true)), { MemberList: OPEN }, admin);
  const leaseKeys =
    (access: 'read' | 'write'): AuthRule =>
    (c, w) => {
      gate.requireUser(c);
      for (const k of keysOfLease(Number(w?.ID ?? 0))) gate.check(c, access, k);
    };
  add(
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
    ),
    {
      // As etcd: revoking a lease deletes its keys, so it needs write on every one of them.
      LeaseRevoke: leaseKeys('write'),
      LeaseTimeToLive: (c, w) => (w?.keys === true ? leaseKeys('read')(c, w) : user(c, w)),
    },
    user,
  );
  add(defs.lock, lockHandlers(coordination, headerAt), {}, user);
  add(defs.election, electionHandlers(coordination, headerAt), {}, user);
  // Two-phase-commit records; deadlines and retention enforced by the leader only, as the
  // server's own work (no caller's permissions apply to it).
  const txnCoordinator = new TxnCoordinator(coordination);
  const txnDuties = new TxnLeaderDuties(new TxnCoordinator(unrestricted), coordinationLeadership, {
    scanIntervalMs: TXN_SCAN_INTERVAL_MS,
    logger: rootLogger.child({ component: 'txn-coordinator' }),
  });
  add(
    cairnService('coordinator.proto', 'CoordinatorService').service,
    coordinatorHandlers(txnCoordinator, coordination, headerAt),
    {},
    user,
  );
  // Cairn's own LockService: fenced locks with queries, on the same keys as etcd's Lock.
  add(
    cairnService('lock.proto', 'LockService').service,
    cairnLockHandlers(coordination, coordinationLeases, backend.header),
    {},
    user,
  );
  // Cairn's MembershipService: the registry client-side balancers subscribe to.
  add(
    cairnService('membership.proto', 'MembershipService').service,
    membershipHandlers(
      new ServiceRegistry(coordination, coordinationLeases),
      coordination,
      headerAt,
      backend.header,
    ),
    {},
    user,
  );

  return {
    gate,
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
