/**
 * Starts one Cairn member: opens its storage, rebuilds the state machine, starts the raft
 * node with the peer transport on the peer URL, and serves etcd's API on the client URL.
 * main.ts calls this; tests call it too, so that in-process and real servers are one path.
 */
import { randomInt } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { ServerConfig } from '../common/config.js';
import { clusterIdOf, memberIdOf } from '../common/ids.js';
import type { Logger } from '../common/logger.js';
import { encodeCommand } from '../mvcc/index.js';
import {
  AlarmAction,
  type AlarmMember,
  type AlarmRequest,
  AlarmType,
  encodeAlarmRequest,
} from '../node/alarms.js';
import { EntryKind } from '../node/envelope.js';
import { type KvResult, kvWritesToOps, recoverKvStateMachine } from '../node/kv-state-machine.js';
import { encodeMemberAttributes } from '../node/member-attributes.js';
import { RaftNode } from '../node/raft-node.js';
import { hashStateMachine } from '../node/state-hash.js';
import { LevelStorage } from '../storage/level-storage.js';
import { GrpcTransport, RAFT_PEER_SERVER_OPTIONS } from '../transport/grpc-transport.js';
import type { ClusterInfo, MemberInfo } from './cluster-info.js';
import { clusterHandlers } from './cluster-service.js';
import { serviceDefinitions } from './definitions.js';
import { kvHandlers } from './kv-service.js';
import { maintenanceHandlers } from './maintenance-service.js';
import type { KvBackend, MaintenanceBackend } from './ports.js';
import { snapshotFileBody } from './snapshot-file.js';
import { SpaceQuota } from './space-quota.js';
import type { StatusSource } from './status-source.js';

/** A running member. */
export interface RunningServer {
  readonly info: ClusterInfo;
  readonly node: RaftNode<KvResult>;
  /** Stops serving, stops the node, closes storage. */
  stop(): Promise<void>;
}

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

async function bind(server: grpc.Server, url: string): Promise<void> {
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(hostPort(url), grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

/** Starts a member from its configuration. */
export async function startServer(config: ServerConfig, rootLogger: Logger): Promise<RunningServer> {
  const log = rootLogger.child({ component: 'server' });
  const token = config.initialClusterToken;
  const members: MemberInfo[] = config.initialCluster.map((m) => ({
    id: memberIdOf(m.peerUrls, token),
    name: m.name,
    peerUrls: m.peerUrls,
    clientUrls: m.name === config.name ? config.advertiseClientUrls : [],
    isLearner: false,
  }));
  const self = members.find((m) => m.name === config.name);
  if (!self) throw new Error(`--initial-cluster does not contain this member's name "${config.name}"`);
  const info: ClusterInfo = {
    clusterId: clusterIdOf(
      members.map((m) => m.id),
      token,
    ),
    memberId: self.id,
    members,
  };
  const voters = members.map((m) => m.id);

  const { storage, recovered } = await LevelStorage.open(config.dataDir, {
    logger: rootLogger.child({ component: 'storage' }),
    toOps: kvWritesToOps,
    initialConfState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
  });
  const sm = recoverKvStateMachine(recovered);

  // The node and the transport need each other: the transport delivers to the node.
  let node: RaftNode<KvResult> | undefined;
  const transport = new GrpcTransport({
    selfId: self.id,
    clusterId: info.clusterId,
    logger: rootLogger.child({ component: 'transport' }),
    onMessage: (m) => node?.step(m),
    onUnreachable: (id) => node?.reportUnreachable(id),
    onSnapshotStatus: (id, ok) => node?.reportSnapshot(id, ok),
  });
  for (const m of members) if (m.id !== self.id) transport.addPeer(m.id, m.peerUrls[0]!);
  node = new RaftNode<KvResult>({
    id: self.id,
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
    leaseReads: config.leaseReads,
  });
  const running = node;

  const proposeAlarm = async (req: AlarmRequest): Promise<readonly AlarmMember[]> => {
    const r = await running.propose(EntryKind.Alarm, encodeAlarmRequest(req));
    if (!r.ok) throw r.error;
    return (r.response as unknown as { alarms: readonly AlarmMember[] }).alarms;
  };
  const quota = new SpaceQuota({
    quotaBytes: config.quotaBackendBytes,
    refreshIntervalMs: QUOTA_REFRESH_INTERVAL_MS,
    measureBytes: () => storage.sizeOnDiskBytes(),
    alarmRaised: () => sm.alarms.list(AlarmType.NOSPACE).some((a) => a.memberId === self.id),
    raiseAlarm: () =>
      proposeAlarm({ action: AlarmAction.ACTIVATE, memberId: self.id, alarm: AlarmType.NOSPACE }),
    logger: rootLogger,
  });

  const status = (): StatusSource => {
    const st = running.status();
    return {
      leader: running.leader,
      term: st.term,
      commitIndex: st.commit,
      appliedIndex: running.appliedIndex,
      revision: sm.store.currentRevision,
      isLearner: false,
      dataSizeBytes: quota.dbSizeBytes,
    };
  };
  const backend: KvBackend = {
    header: () => {
      const s = status();
      return {
        cluster_id: info.clusterId,
        member_id: info.memberId,
        revision: s.revision,
        raft_term: s.term,
      };
    },
    range: async (req, serializable) => {
      if (!serializable) await running.linearizableBarrier();
      return sm.store.range(req);
    },
    write: (cmd) => running.propose(EntryKind.Mvcc, encodeCommand(cmd)),
  };

  const defs = serviceDefinitions();
  const grpcOptions = {
    // As etcd: the transport admits a little more than --max-request-bytes, so an oversized
    // request gets etcd's own error ("request is too large") rather than a transport error.
    'grpc.max_receive_message_length': config.maxRequestBytes + 512 * 1024,
    'grpc.max_send_message_length': 2 ** 31 - 1,
  };
  const clientServer = new grpc.Server(grpcOptions);
  clientServer.addService(
    defs.kv,
    kvHandlers(backend, {
      maxRequestBytes: config.maxRequestBytes,
      spaceCheck: (costBytes) => quota.check(costBytes),
    }) as grpc.UntypedServiceImplementation,
  );
  const maintenance: MaintenanceBackend = {
    header: backend.header,
    status,
    activeAlarms: () => sm.alarms.list(),
    alarm: proposeAlarm,
    defragment: async () => {
      await running.snapshotNow();
      await storage.compactAll();
      const bytes = await quota.refresh();
      log.info({ dbSizeBytes: bytes }, 'defragmented');
    },
    hash: () => hashStateMachine(sm),
    hashKV: (revision) => sm.store.hashKV(revision),
    snapshot: () => snapshotFileBody(sm.snapshot()),
    requestTimeoutMs: config.requestTimeoutMs,
    leadership: {
      selfId: self.id,
      pollIntervalMs: config.heartbeatIntervalMs,
      leader: () => running.leader,
      isVoter: (id) => running.configuration.voters.includes(id),
      transferLeadership: (to) => running.transferLeadership(to),
    },
  };
  clientServer.addService(
    defs.maintenance,
    maintenanceHandlers(info, maintenance) as grpc.UntypedServiceImplementation,
  );
  // Client URLs as the members published them through raft (our own as configured until then).
  const membersNow = (): MemberInfo[] =>
    members.map((m) => ({ ...m, clientUrls: sm.members.get(m.id)?.clientUrls ?? m.clientUrls }));
  clientServer.addService(
    defs.cluster,
    clusterHandlers(info, status, membersNow) as grpc.UntypedServiceImplementation,
  );
  const peerServer = new grpc.Server(RAFT_PEER_SERVER_OPTIONS);
  transport.register(peerServer);

  for (const url of config.listenPeerUrls) await bind(peerServer, url);
  running.start();
  await quota.start();
  for (const url of config.listenClientUrls) await bind(clientServer, url);
  // Publish this member's name and client URLs through raft (as etcd does), retrying until
  // it lands: every member then lists everyone's client URLs.
  let stopped = false;
  const publish = async (): Promise<void> => {
    const attrs = encodeMemberAttributes({
      id: self.id,
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
      memberId: self.id,
      clusterId: info.clusterId,
      client: config.listenClientUrls,
      peer: config.listenPeerUrls,
    },
    'serving',
  );

  return {
    info,
    node: running,
    async stop(): Promise<void> {
      stopped = true;
      quota.stop();
      await new Promise<void>((resolve) => clientServer.tryShutdown(() => resolve()));
      await running.stop();
      await transport.stop();
      await new Promise<void>((resolve) => peerServer.tryShutdown(() => resolve()));
      await storage.close();
      log.info({}, 'stopped');
    },
  };
}
