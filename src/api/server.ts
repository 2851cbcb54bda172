/**
 * Starts one Cairn member: opens its storage, rebuilds the state machine, starts the raft
 * node with the peer transport on the peer URL, and serves etcd's API on the client URL.
 * main.ts calls this; tests call it too, so that in-process and real servers are one path.
 */
import { randomInt } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { type ServerConfig, tlsWarnings } from '../common/config.js';
import { CairnError, ErrorCode } from '../common/errors.js';
import { LateHandler } from '../common/late-handler.js';
import type { Logger } from '../common/logger.js';
import { loadMemberTls, peerCredentialsOf, serverCredentialsFor } from '../common/tls.js';
import type { CoordinationLeadership } from '../coordination/ports.js';
import { WatchHub } from '../mvcc/index.js';
import {
  AlarmAction,
  type AlarmMember,
  type AlarmRequest,
  AlarmType,
  encodeAlarmRequest,
} from '../node/alarms.js';
import { EntryKind } from '../node/envelope.js';
import { loadHoldFromEnv, syncDelayHookFromEnv } from '../node/fault-hooks.js';
import type { KvResult } from '../node/kv-state-machine.js';
import { encodeMemberAttributes } from '../node/member-attributes.js';
import { MemberLeases, minLeaseTtlSeconds } from '../node/member-leases.js';
import { MembershipChanges } from '../node/membership-changes.js';
import { membershipWritesToOps, openMembershipStateMachine } from '../node/membership-state-machine.js';
import { RaftNode } from '../node/raft-node.js';
import { ConfChangeTransition, ConfChangeType } from '../raft/index.js';
import { LevelStorage } from '../storage/level-storage.js';
import { GrpcTransport, RAFT_PEER_SERVER_OPTIONS } from '../transport/grpc-transport.js';
import { LeaseForwarder } from '../transport/lease-forwarding.js';
import { MEMBER_REMOVED_MESSAGE } from '../transport/refusal.js';
import { registerClientServices } from './client-services.js';
import type { ClusterInfo } from './cluster-info.js';
import { foundingMembers, type Identity, resolveIdentity } from './identity.js';
import { memberContext } from './member-context.js';
import { createObservability, type MemberObservability } from './observability/observability.js';
import { registerPeerServices } from './peer-services.js';
import { PeerSync } from './peer-sync.js';
import { SpaceQuota } from './space-quota.js';
import { unaryStatusInterceptor } from './unary-status.js';

/** A running member. */
export interface RunningServer {
  readonly info: ClusterInfo;
  readonly node: RaftNode<KvResult>;
  /** Stops serving, stops the node, closes storage (once; later calls wait for the first). */
  stop(): Promise<void>;
  /** Resolves, with the reason, when the member stopped by itself (it was removed from the cluster). */
  readonly stoppedItself: Promise<string>;
  /** Resolves (NODE_FAILED, naming the data folder and what to do) when the raft node failed and the member stopped. */
  readonly failed: Promise<CairnError>;
}

/** How long a member that applied its own removal keeps running: followers learn the commit, the caller gets its answer. */
const REMOVED_MEMBER_LINGER_MS = 1_000;
/** How often the data folder is measured against --quota-backend-bytes. */
const QUOTA_REFRESH_INTERVAL_MS = 500;

/** Milliseconds per raft tick: the heartbeat interval is one tick. */
function ticksOf(config: ServerConfig): {
  tickIntervalMs: number;
  electionTimeoutTicks: number;
  heartbeatIntervalTicks: number;
} {
  return {
    tickIntervalMs: config.heartbeatIntervalMs,
    heartbeatIntervalTicks: 1,
    electionTimeoutTicks: Math.max(2, Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs)),
  };
}

function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

async function bind(server: grpc.Server, url: string, credentials: grpc.ServerCredentials): Promise<void> {
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(hostPort(url), credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
}

/**
 * What a member says when its raft node fails. The usual cause is a data folder that lost
 * or damaged its log while the member was down: the leader then commits past the end of
 * this member's log (etcd panics there too). The member cannot safely rejoin with it.
 */
function nodeFailure(dataDir: string, err: Error): CairnError {
  return new CairnError(
    ErrorCode.NODE_FAILED,
    `the raft node failed (${err.message}); if the data folder ${dataDir} was damaged, truncated or ` +
      'deleted, this member cannot rejoin with it: remove the member (etcdctl member remove), delete the ' +
      'folder, add it back (etcdctl member add) and start it with --initial-cluster-state existing',
  );
}

/** Starts a member from its configuration. */
export async function startServer(config: ServerConfig, rootLogger: Logger): Promise<RunningServer> {
  const log = rootLogger.child({ component: 'server' });
  // TLS files are read before anything touches the disk: a bad file stops the start at once.
  const tls = loadMemberTls(config);
  for (const w of tlsWarnings(config)) log.warn({ url: w.url }, w.message);
  const peerTls = peerCredentialsOf(tls.peer);
  const joining = config.initialClusterState === 'existing';
  const founders = foundingMembers(config);

  // A member joining a running cluster starts with an empty log and no configuration: the
  // leader sends it the log (or a snapshot) once MemberAdd's change is applied.
  // Synced writes are timed for etcd_disk_wal_fsync_duration_seconds once metrics exist.
  let observability: MemberObservability | undefined;
  const slowDisk = syncDelayHookFromEnv();
  // A test hook (a slow load, for test/e2e), inert unless its environment variable is set.
  const slowLoad = loadHoldFromEnv();
  const { storage, recovered } = await LevelStorage.open(config.dataDir, {
    logger: rootLogger.child({ component: 'storage' }),
    toOps: membershipWritesToOps,
    onSyncedWrite: (seconds) => observability?.observeFsync(seconds),
    // A test hook (a slow disk for test/chaos), inert unless its environment variable is set.
    ...(slowDisk ? { beforeSync: slowDisk } : {}),
    ...(joining
      ? {}
      : {
          initialConfState: {
            voters: founders.map((m) => m.id),
            learners: [],
            votersOutgoing: [],
            learnersNext: [],
            autoLeave: false,
          },
        }),
  });
  // Our data folder's lock is held: any earlier incarnation of this member has stopped, so
  // the startup lease of lease reads may count from here (its load counts toward it).
  const leaseClockOriginMs = performance.now();
  // The member registry is read first (it comes early in the scan); the key-value store goes
  // on loading while raft starts below, so this member votes and replicates as it loads.
  const opening = openMembershipStateMachine(recovered);
  const sm = await opening.ready;
  const registry = sm.registry;
  let identity: Identity;
  try {
    identity = await resolveIdentity(config, registry, log, peerTls);
  } catch (err) {
    await storage.close();
    throw err;
  }
  if (registry.isRemoved(identity.memberId)) {
    await storage.close();
    throw new CairnError(ErrorCode.MEMBER_REMOVED, MEMBER_REMOVED_MESSAGE);
  }
  registry.setFounders(identity.clusterId, identity.known);
  if (!joining && registry.list().length === 0 && recovered.appliedIndex > 0) {
    // Data written before the registry existed: the founding configuration is the registry.
    registry.applyConfChange(
      {
        transition: ConfChangeTransition.Auto,
        changes: founders.map((m) => ({ type: ConfChangeType.AddNode, nodeId: m.id })),
        context: new Uint8Array(0),
      },
      undefined,
    );
  }
  const selfId = identity.memberId;
  const info: ClusterInfo = {
    clusterId: identity.clusterId,
    memberId: selfId,
    members: founders.map((m) => ({ ...m, clientUrls: [], isLearner: false })),
  };
  const hub = new WatchHub(sm.kv.store);
  sm.kv.applyListener = {
    applied: (revision, events) => hub.notify(revision, events),
    restored: (store) => hub.restored(store),
  };

  // The node and the transport need each other: the transport delivers to the node.
  let node: RaftNode<KvResult> | undefined;
  let leases: MemberLeases | undefined;
  let leading = false;
  const leadershipListeners = new Set<(leading: boolean) => void>();
  // Set at the end of start-up; a removal or failure before then is kept for them.
  const onRemoved = new LateHandler<string>();
  const onFatal = new LateHandler<Error>();
  const transport = new GrpcTransport({
    selfId,
    clusterId: info.clusterId,
    logger: rootLogger.child({ component: 'transport' }),
    onMessage: (m) => node?.step(m),
    onUnreachable: (id) => node?.reportUnreachable(id),
    onDropped: (m) => node?.reportDropped(m),
    onPeerActive: (id) => node?.peerActive(id),
    onPeerDown: (id) => node?.peerDown(id),
    onSnapshotStatus: (id, ok) => node?.reportSnapshot(id, ok),
    isRemovedMember: (id) => registry.isRemoved(id),
    onRemovedFromCluster: () => onRemoved.call('a peer refused this member'),
    // Used for https:// peers; http:// peers are dialled in plaintext (as etcd, per URL).
    channelCredentials: peerTls,
  });
  const peers = new PeerSync(transport, registry, selfId, identity.known);
  peers.sync();
  node = new RaftNode<KvResult>({
    id: selfId,
    storage,
    stateMachine: sm,
    transport,
    logger: rootLogger,
    prng: { nextInt: (n) => (n <= 1 ? 0 : randomInt(n)) },
    ...ticksOf(config),
    requestTimeoutMs: config.requestTimeoutMs,
    pendingProposalsMax: 10_000,
    pendingReadsMax: 100_000,
    snapshotCount: config.snapshotCount,
    snapshotCatchUpEntries: config.snapshotCatchUpEntries,
    snapshotLogBytes: config.snapshotLogBytes,
    leaseReads: config.leaseReads,
    startLoading: true,
    leaseClockOriginMs,
    onFatal: onFatal.call,
    onLeaderChange: (leader) => {
      leases?.onLeaderChange(leader);
      observability?.leaderChanged(leader);
      const nowLeading = leader === selfId;
      if (nowLeading !== leading) {
        leading = nowLeading;
        for (const l of leadershipListeners) l(leading);
      }
    },
  });
  const running = node;
  const forwarder = new LeaseForwarder({
    clusterId: info.clusterId,
    peerUrlOf: (id) => registry.get(id)?.peerUrls[0],
    // A leader that died stays "the leader" here until an election: a renewal forwarded to it
    // must fail within a few election timeouts, not hold the keep-alive stream for the whole
    // request timeout (the client's lease could run out meanwhile). Not less than 3 s: a busy
    // leader must still be able to answer.
    callTimeoutMs: Math.min(config.requestTimeoutMs, Math.max(3_000, 3 * config.electionTimeoutMs)),
    credentials: peerTls,
  });
  const memberLeases = new MemberLeases({
    node: running,
    stateMachine: sm.kv,
    leader: forwarder,
    minTtlSeconds: minLeaseTtlSeconds(config.electionTimeoutMs),
    promotionExtensionMs: config.electionTimeoutMs,
    expiryCheckIntervalMs: Math.min(500, Math.max(10, Math.floor(config.electionTimeoutMs / 2))),
    revokesPerSecondMax: 1000,
    logger: rootLogger,
  });
  leases = memberLeases;
  const changes = new MembershipChanges(running, registry, {
    clusterToken: config.initialClusterToken,
    retryForMs: config.requestTimeoutMs,
  });
  registry.onChange = () => {
    peers.sync();
    if (registry.isRemoved(selfId)) onRemoved.call('this member applied its own removal');
  };

  const proposeAlarm = async (req: AlarmRequest): Promise<readonly AlarmMember[]> => {
    const r = await running.propose(EntryKind.Alarm, encodeAlarmRequest(req));
    if (!r.ok) throw r.error;
    return (r.response as unknown as { alarms: readonly AlarmMember[] }).alarms;
  };
  const quota = new SpaceQuota({
    quotaBytes: config.quotaBackendBytes,
    refreshIntervalMs: QUOTA_REFRESH_INTERVAL_MS,
    measureBytes: () => storage.sizeOnDiskBytes(),
    alarmRaised: () => sm.kv.alarms.list(AlarmType.NOSPACE).some((a) => a.memberId === selfId),
    raiseAlarm: () =>
      proposeAlarm({ action: AlarmAction.ACTIVATE, memberId: selfId, alarm: AlarmType.NOSPACE }),
    logger: rootLogger,
  });

  const coordinationLeadership: CoordinationLeadership = {
    isLeader: () => leading,
    onChange: (listener) => {
      leadershipListeners.add(listener);
      return () => leadershipListeners.delete(listener);
    },
  };
  const ctx = memberContext({
    config,
    log,
    rootLogger,
    info,
    selfId,
    node: running,
    sm,
    registry,
    storage,
    hub,
    memberLeases,
    changes,
    quota,
    peerTls,
    proposeAlarm,
    coordinationLeadership,
  });

  let stopped = false;
  if ((config.listenMetricsUrls ?? []).length > 0)
    observability = createObservability(ctx, transport, () => !stopped);
  const grpcOptions: grpc.ServerOptions = {
    // As etcd: the transport admits a little more than --max-request-bytes, so an oversized
    // request gets etcd's own error ("request is too large") rather than a transport error.
    'grpc.max_receive_message_length': config.maxRequestBytes + 512 * 1024,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    // Every client call passes one interceptor that counts it (grpc_server_handled_total), and
    // a unary call's status leaves with its response.
    interceptors: [...(observability ? [observability.interceptor] : []), unaryStatusInterceptor],
  };
  const clientServer = new grpc.Server(grpcOptions);
  const clientServices = registerClientServices(clientServer, ctx);
  const peerServer = new grpc.Server(RAFT_PEER_SERVER_OPTIONS);
  registerPeerServices(peerServer, ctx, transport);

  for (const url of config.listenPeerUrls) await bind(peerServer, url, serverCredentialsFor(url, tls.peer));
  running.start();
  try {
    await opening.loaded;
    await slowLoad?.();
  } catch (err) {
    await running.stop();
    await transport.stop();
    peerServer.forceShutdown();
    await storage.close();
    throw err;
  }
  running.stateMachineLoaded();
  memberLeases.start();
  clientServices.start();
  await quota.start();
  for (const url of config.listenClientUrls)
    await bind(clientServer, url, serverCredentialsFor(url, tls.client));
  // Publish this member's name and client URLs through raft (as etcd does), retrying until
  // it lands: every member then lists everyone's client URLs.
  const publish = async (): Promise<void> => {
    const attrs = encodeMemberAttributes({
      id: selfId,
      name: config.name,
      clientUrls: config.advertiseClientUrls,
    });
    while (!stopped) {
      try {
        await running.propose(EntryKind.MemberAttributes, attrs);
        log.info({ clientUrls: config.advertiseClientUrls }, 'published member attributes');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  void publish();
  log.info(
    {
      memberId: selfId,
      clusterId: info.clusterId,
      joining,
      client: config.listenClientUrls,
      peer: config.listenPeerUrls,
    },
    'serving',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      // Waiting Lock/Campaign/Observe calls, transaction scans and watch streams end first, or
      // the graceful shutdown waits on them; a scan in flight ends when the node stops under it.
      const clientServicesClosed = clientServices.close();
      const observabilityStopped = observability?.stop();
      quota.stop();
      await new Promise<void>((resolve) => clientServer.tryShutdown(() => resolve()));
      memberLeases.stop();
      forwarder.close();
      await running.stop();
      await clientServicesClosed;
      await transport.stop();
      await new Promise<void>((resolve) => peerServer.tryShutdown(() => resolve()));
      await observabilityStopped;
      await storage.close();
      log.info({}, 'stopped');
    })();
    return stopping;
  };
  let stoppedItself: (reason: string) => void = () => {};
  const selfStop = new Promise<string>((resolve) => {
    stoppedItself = resolve;
  });
  let removed = false;
  const handleRemoved = (reason: string): void => {
    if (removed || stopping) return;
    removed = true;
    log.error({ reason, memberId: selfId }, MEMBER_REMOVED_MESSAGE);
    // A removed member lingers a moment: a leader lets its followers learn that the removal
    // committed, and any member answers the MemberRemove that removed it (a client such as
    // etcdctl may have sent it to this very member) before it stops.
    const delayMs = REMOVED_MEMBER_LINGER_MS;
    setTimeout(() => {
      stop().then(
        () => stoppedItself(MEMBER_REMOVED_MESSAGE),
        () => stoppedItself(MEMBER_REMOVED_MESSAGE),
      );
    }, delayMs);
  };

  let reportFailure: (err: CairnError) => void = () => {};
  const failed = new Promise<CairnError>((resolve) => {
    reportFailure = resolve;
  });
  const handleFatal = (err: Error): void => {
    const failure = nodeFailure(config.dataDir, err);
    log.fatal({ err, dataDir: config.dataDir }, failure.message);
    stop().then(
      () => reportFailure(failure),
      () => reportFailure(failure),
    );
  };

  // The metrics listener last: a member that cannot bind it stops as a whole.
  try {
    await observability?.start();
  } catch (err) {
    log.error({ err, urls: config.listenMetricsUrls }, 'cannot serve the metrics URLs');
    await stop();
    throw err;
  }
  // Last: a removal or a failure that came during start-up is handled now.
  onRemoved.set(handleRemoved);
  onFatal.set(handleFatal);
  return { info, node: running, stop, stoppedItself: selfStop, failed };
}
