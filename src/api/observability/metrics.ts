/**
 * One member's Prometheus metrics, in a Registry of its own (never prom-client's global
 * one), so several members in one process each expose their own. Names are etcd's where
 * etcd has the metric (so etcd's dashboards and alerts read them), cairn_* otherwise. Most
 * values are read from the member's state when scraped (collect callbacks); only events
 * that leave no state behind (leader changes, fsync and gRPC durations, round trips) are
 * counted as they happen.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CoordinationView } from './coordination-view.js';
import type { GrpcCallObservation, GrpcType } from './grpc-observer.js';

/** What the collect callbacks read from the member. */
export interface MetricsSource {
  leader(): number;
  selfId(): number;
  term(): number;
  /** Whether this member is a leader answering linearizable reads under its read lease now. */
  holdsReadLease(): boolean;
  commitIndex(): number;
  appliedIndex(): number;
  pendingProposals(): number;
  proposalsFailed(): number;
  dbSizeBytes(): number;
  leasesActive(): number;
  watchersActive(): number;
  coordination(): CoordinationView;
  /** Bytes sent to each peer on the raft streams, by peer id. */
  peerSentBytes(): ReadonlyMap<number, number>;
  /** Bytes received from each peer on the raft streams, by peer id. */
  peerReceivedBytes(): ReadonlyMap<number, number>;
}

/** Most label values of one family that grows with user data (services): a bound on the scrape's size. */
export const LABEL_VALUES_MAX = 1000;

/** Buckets of nodejs_gc_duration_seconds: pauses from a millisecond (a quiet scavenge) to a second. */
const GC_PAUSE_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** How often the event-loop delay is sampled, in ms (prom-client's default). */
const EVENT_LOOP_SAMPLE_MS = 10;

let processRegistry: Registry | undefined;

/**
 * The process's own families, collected once per process however many members it runs:
 * process_* as etcd's Go collector names them (resident memory, CPU seconds, open fds,
 * start time) and nodejs_* (event-loop delay, GC pauses by kind, heap by space). A member
 * whose tail latency grows shows here whether its event loop stalled, and on what.
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({
      register: processRegistry,
      gcDurationBuckets: GC_PAUSE_BUCKETS_SECONDS,
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
  }
  return processRegistry;
}

/** A member id as etcd prints it in labels (hex). */
export function memberIdLabel(id: number): string {
  return id.toString(16);
}

/** etcd's buckets: `count` buckets from `start`, each twice the one before. */
function exponentialBuckets(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * 2 ** i);
}

/**
 * A counter whose value lives elsewhere (a total kept by the transport or the node): each
 * scrape adds what the total grew by since the last one, per label set.
 */
function followTotals<L extends string>(
  counter: Counter<L>,
  read: () => Iterable<[Partial<Record<L, string>>, number]>,
): () => void {
  const seen = new Map<string, number>();
  return () => {
    for (const [labels, total] of read()) {
      const key = JSON.stringify(labels);
      const delta = total - (seen.get(key) ?? 0);
      if (delta > 0) counter.inc(labels, delta);
      seen.set(key, total);
    }
  };
}

type GrpcLabels = Record<'grpc_type' | 'grpc_service' | 'grpc_method', string>;

/** One gRPC method's metric children, with its labels. */
interface GrpcMethodMetrics {
  readonly labels: GrpcLabels;
  readonly started: { inc(): void };
  readonly seconds: { observe(value: number): void };
  /** grpc_server_handled_total's children, by code. */
  readonly handled: Map<string, { inc(): void }>;
}

/** One member's metrics. */
export class MemberMetrics {
  /** This member's registry: /metrics serves it. */
  readonly registry = new Registry();
  private readonly leaderChanges: Counter;
  private readonly fsync: Histogram;
  private readonly roundTrip: Histogram<'To'>;
  private readonly grpcStarted: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  private readonly grpcHandled: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>;
  private readonly grpcSeconds: Histogram<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  /** Label children by "type service method" (see grpcMethod). */
  private readonly grpcMethods = new Map<string, GrpcMethodMetrics>();

  constructor(source: MetricsSource) {
    // Started with the member, so GC pauses and event-loop delay are counted from the start.
    processMetrics();
    const registers = [this.registry];
    // A scrape reads the coordination view once, whichever family asks first.
    let view: CoordinationView | undefined;
    let viewAtMs = 0;
    const coordination = (): CoordinationView => {
      const now = Date.now();
      if (view === undefined || now - viewAtMs > 250) {
        view = source.coordination();
        viewAtMs = now;
      }
      return view;
    };

    new Gauge({
      name: 'etcd_server_has_leader',
      help: 'Whether or not a leader exists. 1 is existence, 0 is not.',
      registers,
      collect() {
        this.set(source.leader() !== 0 ? 1 : 0);
      },
    });
    new Gauge({
      name: 'etcd_server_is_leader',
      help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
      registers,
      collect() {
        this.set(source.leader() !== 0 && source.leader() === source.selfId() ? 1 : 0);
      },
    });
    this.leaderChanges = new Counter({
      name: 'etcd_server_leader_changes_seen_total',
      help: 'The number of leader changes seen.',
      registers,
    });
    // etcd keeps these two as gauges set to the commit and applied index.
    new Gauge({
      name: 'etcd_server_proposals_committed_total',
      help: 'The total number of consensus proposals committed.',
      registers,
      collect() {
        this.set(source.commitIndex());
      },
    });
    new Gauge({
      name: 'etcd_server_proposals_applied_total',
      help: 'The total number of consensus proposals applied.',
      registers,
      collect() {
        this.set(source.appliedIndex());
      },
    });
    new Gauge({
      name: 'etcd_server_proposals_pending',
      help: 'The current number of pending proposals to commit.',
      registers,
      collect() {
        this.set(source.pendingProposals());
      },
    });
    const failed: Counter = new Counter({
      name: 'etcd_server_proposals_failed_total',
      help: 'The total number of failed proposals seen.',
      registers,
      collect: () => followFailed(),
    });
    const followFailed: () => void = followTotals(failed, () => [[{}, source.proposalsFailed()]]);
    this.fsync = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL (here: each synced LevelDB batch).',
      buckets: exponentialBuckets(0.001, 14),
      registers,
    });
    new Gauge({
      name: 'etcd_mvcc_db_total_size_in_bytes',
      help: 'Total size of the underlying database physically allocated in bytes.',
      registers,
      collect() {
        this.set(source.dbSizeBytes());
      },
    });
    this.roundTrip = new Histogram({
      name: 'etcd_network_peer_round_trip_time_seconds',
      help: 'Round-Trip-Time histogram between peers (a Status call over the peer URL).',
      labelNames: ['To'],
      buckets: exponentialBuckets(0.0001, 16),
      registers,
    });
    const sent: Counter<'To'> = new Counter({
      name: 'etcd_network_peer_sent_bytes_total',
      help: 'The total number of bytes sent to peers.',
      labelNames: ['To'],
      registers,
      collect: () => followSent(),
    });
    const followSent: () => void = followTotals(sent, () =>
      [...source.peerSentBytes()].map(([id, bytes]) => [{ To: memberIdLabel(id) }, bytes]),
    );
    const received: Counter<'From'> = new Counter({
      name: 'etcd_network_peer_received_bytes_total',
      help: 'The total number of bytes received from peers.',
      labelNames: ['From'],
      registers,
      collect: () => followReceived(),
    });
    const followReceived: () => void = followTotals(received, () =>
      [...source.peerReceivedBytes()].map(([id, bytes]) => [{ From: memberIdLabel(id) }, bytes]),
    );
    const grpcLabels = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
    this.grpcStarted = new Counter({
      name: 'grpc_server_started_total',
      help: 'Total number of RPCs started on the server.',
      labelNames: grpcLabels,
      registers,
    });
    this.grpcHandled = new Counter({
      name: 'grpc_server_handled_total',
      help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: [...grpcLabels, 'grpc_code'],
      registers,
    });
    this.grpcSeconds = new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
      labelNames: grpcLabels,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    new Gauge({
      name: 'cairn_raft_term',
      help: 'The raft term this member is in.',
      registers,
      collect() {
        this.set(source.term());
      },
    });
    new Gauge({
      name: 'cairn_raft_read_lease_held',
      help: 'Whether this member is a leader answering linearizable reads under its read lease (1) or not (0).',
      registers,
      collect() {
        this.set(source.holdsReadLease() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cairn_raft_commit_apply_lag_entries',
      help: 'Committed entries not yet applied on this member.',
      registers,
      collect() {
        this.set(Math.max(0, source.commitIndex() - source.appliedIndex()));
      },
    });
    new Gauge({
      name: 'cairn_leases_active',
      help: 'Leases granted and not yet expired or revoked.',
      registers,
      collect() {
        this.set(source.leasesActive());
      },
    });
    new Gauge({
      name: 'cairn_watchers_active',
      help: "Watchers registered with this member's watch hub (client watches and the recipes' own).",
      registers,
      collect() {
        this.set(source.watchersActive());
      },
    });
    new Gauge({
      name: 'cairn_locks_held',
      help: 'Locks that have a holder (the Mutex key layout, as etcdctl lock writes it).',
      registers,
      collect() {
        this.set(coordination().locks.length);
      },
    });
    new Gauge({
      name: 'cairn_locks_waiting',
      help: 'Participants waiting in line behind a lock holder.',
      registers,
      collect() {
        this.set(coordination().locks.reduce((n, l) => n + l.waiters.length, 0));
      },
    });
    new Gauge({
      name: 'cairn_membership_instances',
      help: 'Registered service instances, by service and state.',
      labelNames: ['service', 'state'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, Map<string, number>>();
        for (const i of coordination().instances) {
          const byState = counts.get(i.service) ?? new Map<string, number>();
          if (!counts.has(i.service)) {
            if (counts.size >= LABEL_VALUES_MAX) continue;
            counts.set(i.service, byState);
          }
          byState.set(i.state, (byState.get(i.state) ?? 0) + 1);
        }
        for (const [service, byState] of counts)
          for (const [state, n] of byState) this.set({ service, state }, n);
      },
    });
    new Gauge({
      name: 'cairn_transactions',
      help: 'Transaction-coordination records, by state (PREPARING, COMMIT, ABORT).',
      labelNames: ['state'],
      registers,
      collect() {
        const counts: Record<string, number> = { PREPARING: 0, COMMIT: 0, ABORT: 0 };
        for (const t of coordination().transactions)
          counts[t.record.state] = (counts[t.record.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
  }

  /** A leader change this member saw (to a new leader, or to none). */
  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  /** One synced write to the data folder. */
  observeFsync(seconds: number): void {
    this.fsync.observe(seconds);
  }

  /** One round trip to a peer. */
  observeRoundTrip(peerId: number, seconds: number): void {
    this.roundTrip.observe({ To: memberIdLabel(peerId) }, seconds);
  }

  /** A gRPC call started on the client port. */
  grpcCallStarted(type: GrpcType, service: string, method: string): void {
    this.grpcMethod(type, service, method).started.inc();
  }

  /** A gRPC call on the client port ended. */
  observeGrpc(o: GrpcCallObservation): void {
    const m = this.grpcMethod(o.type, o.service, o.method);
    let handled = m.handled.get(o.code);
    if (handled === undefined) {
      handled = this.grpcHandled.labels({ ...m.labels, grpc_code: o.code });
      m.handled.set(o.code, handled);
    }
    handled.inc();
    m.seconds.observe(o.durationSeconds);
  }

  /**
   * The label children of one method, made once: prom-client hashes a label object on every
   * inc or observe given one, which cost more than the rest of a call's bookkeeping. Bounded
   * by the methods the server registers, and their codes by gRPC's seventeen.
   */
  private grpcMethod(type: GrpcType, service: string, method: string): GrpcMethodMetrics {
    const key = `${type} ${service} ${method}`;
    let m = this.grpcMethods.get(key);
    if (m === undefined) {
      const labels = { grpc_type: type, grpc_service: service, grpc_method: method };
      m = {
        labels,
        started: this.grpcStarted.labels(labels),
        seconds: this.grpcSeconds.labels(labels),
        handled: new Map(),
      };
      this.grpcMethods.set(key, m);
    }
    return m;
  }

  /** The exposition text (this member's families, then the process's) and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    // prom-client's merge refuses a family both define, so neither can shadow the other.
    const both = Registry.merge([this.registry, processMetrics()]);
    return { contentType: both.contentType, body: await both.metrics() };
  }
}
