/**
 * Wires one member's observability from its parts: the metrics (reading the node, the
 * state machine, the watch hub, the quota and the transport), the gRPC interceptor, the
 * poller of the peers' Status, the traffic series and the HTTP listener with the health
 * endpoints and the dashboard. server.ts creates it when --listen-metrics-urls is set.
 */
import type * as grpc from '@grpc/grpc-js';
import { AlarmType } from '../../node/alarms.js';
import type { GrpcTransport } from '../../transport/grpc-transport.js';
import type { MemberInfo } from '../cluster-info.js';
import type { MemberContext } from '../member-context.js';
import { readCoordinationView } from './coordination-view.js';
import { type DashboardSource, dashboardSnapshot } from './dashboard-snapshot.js';
import { grpcObserverInterceptor } from './grpc-observer.js';
import { type HealthSource, health, probe } from './health.js';
import { MetricsListener } from './http-listener.js';
import { MemberMetrics } from './metrics.js';
import { PeerStatusPoller } from './peer-status.js';
import { RecentSeries } from './recent-series.js';

/** How often the dashboard feed ticks, and the peers are asked for their status. */
const FEED_INTERVAL_MS = 1_000;
/** The longest a peer's Status call, or a health check's linearizable read, may take. */
const CHECK_TIMEOUT_MS_MAX = 2_000;

/** One member's observability. */
export interface MemberObservability {
  readonly metrics: MemberMetrics;
  /** The interceptor the client port's gRPC server is built with. */
  readonly interceptor: grpc.ServerInterceptor;
  /** Told of each synced write (LevelStorage's onSyncedWrite). */
  observeFsync(seconds: number): void;
  /** Told of each leader this member learns of (0: none). */
  leaderChanged(leader: number): void;
  /** Listens on the metrics URLs and starts the poller and the feed. */
  start(): Promise<void>;
  /** Stops everything it started. */
  stop(): Promise<void>;
}

/** Creates the observability of a member; `serving` says whether the member still serves reads. */
export function createObservability(
  ctx: MemberContext,
  transport: GrpcTransport,
  serving: () => boolean,
): MemberObservability {
  const { node: running, sm, registry, hub, quota, selfId, config } = ctx;
  const log = ctx.rootLogger.child({ component: 'observability' });
  const checkTimeoutMs = Math.min(config.requestTimeoutMs, CHECK_TIMEOUT_MS_MAX);
  const coordination = () => readCoordinationView(sm.kv.store);
  const others = () => registry.list().filter((m) => m.id !== selfId);

  const metrics = new MemberMetrics({
    leader: () => running.leader,
    selfId: () => selfId,
    term: () => running.status().term,
    holdsReadLease: () => running.holdsReadLease(),
    commitIndex: () => running.status().commit,
    appliedIndex: () => running.appliedIndex,
    pendingProposals: () => running.pendingProposals,
    proposalsFailed: () => running.proposalsFailed,
    dbSizeBytes: () => quota.dbSizeBytes,
    leasesActive: () => sm.kv.store.leases().length,
    watchersActive: () => hub.watcherCount,
    coordination,
    peerSentBytes: () => {
      const out = new Map<number, number>();
      for (const m of others()) {
        const stats = transport.peerStats(m.id);
        if (stats) out.set(m.id, stats.sentBytes);
      }
      return out;
    },
    peerReceivedBytes: () => transport.incomingStats().receivedBytesByPeer,
  });
  const series = new RecentSeries();
  const interceptor = grpcObserverInterceptor(
    (o) => {
      metrics.observeGrpc(o);
      series.record(o.durationSeconds, o.code === 'OK', o.type === 'unary');
    },
    (type, service, method) => metrics.grpcCallStarted(type, service, method),
  );
  const poller = new PeerStatusPoller({
    peers: () => others().flatMap((m) => (m.peerUrls[0] ? [{ id: m.id, peerUrl: m.peerUrls[0] }] : [])),
    intervalMs: FEED_INTERVAL_MS,
    callTimeoutMs: checkTimeoutMs,
    credentials: ctx.peerTls,
    onRoundTrip: (id, seconds) => metrics.observeRoundTrip(id, seconds),
  });

  const healthSource: HealthSource = {
    leader: () => running.leader,
    activeAlarms: () => [...new Set(sm.kv.alarms.list().map((a) => AlarmType[a.alarm] ?? String(a.alarm)))],
    serializableRead: () => {
      if (!serving()) throw new Error('the member is not serving');
      sm.kv.store.range({
        key: new Uint8Array([0]),
        rangeEnd: new Uint8Array([0]),
        limit: 1,
        keysOnly: true,
      });
    },
    linearizableRead: () => running.linearizableBarrier(),
    checkTimeoutMs,
  };

  const members = (): MemberInfo[] => registry.list().map(ctx.withAttributes);
  const dashboardSource: DashboardSource = {
    selfId,
    members,
    selfStatus: () => {
      const s = ctx.status();
      return {
        memberId: selfId,
        leader: s.leader,
        term: s.term,
        commitIndex: s.commitIndex,
        appliedIndex: s.appliedIndex,
        dbSizeBytes: s.dataSizeBytes,
        isLearner: s.isLearner,
        errors: [],
      };
    },
    peers: () => poller.latest(),
    coordination,
    series: () => series.snapshot(),
  };
  const snapshot = () => dashboardSnapshot(dashboardSource, Date.now());
  const listener = new MetricsListener(
    {
      metrics: () => metrics.exposition(),
      health: (query) => health(healthSource, query),
      probe: (which, query) => probe(healthSource, which, query),
      snapshot,
    },
    log,
  );

  let ticker: NodeJS.Timeout | undefined;
  let lastLeader = 0;
  return {
    metrics,
    interceptor,
    observeFsync: (seconds) => metrics.observeFsync(seconds),
    leaderChanged: (leader) => {
      // As etcd: a change to a known leader other than the last one counts; losing one does not.
      if (leader !== 0 && leader !== lastLeader) metrics.leaderChanged();
      if (leader !== 0) lastLeader = leader;
    },
    start: async () => {
      await listener.listen(config.listenMetricsUrls ?? []);
      poller.start();
      ticker = setInterval(() => {
        series.tick(running.status().commit, Date.now());
        if (listener.feedClientCount > 0) listener.broadcast(snapshot());
      }, FEED_INTERVAL_MS);
      ticker.unref();
    },
    stop: async () => {
      if (ticker) clearInterval(ticker);
      poller.stop();
      await listener.close();
    },
  };
}
