/**
 * etcd's Watch service: the bidirectional Watch/Watch call, one WatchStream per call over
 * this member's watch hub, and the timer of periodic progress notifications (etcd's
 * progress_notify; every 10 minutes by default, as etcd's
 * --experimental-watch-progress-notify-interval).
 */
import type * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { etcdServices } from '../common/proto-loader.js';
import type { WatchHub } from '../mvcc/index.js';
import { type Caller, callerContext } from './auth-gate.js';
import { toGrpcError } from './errors.js';
import type { WireHeader } from './header.js';
import { WatchResponseEncoder, type WatchResponseSerializer } from './watch-encoding.js';
import { WatchStream, type WatchStreamLimits } from './watch-stream.js';

/** Who may watch what, and when that may have changed (the member's AuthGate). */
export interface WatchAuthorizer {
  permitted(caller: Caller, access: 'read', key: Uint8Array, rangeEnd?: Uint8Array): boolean;
  /** Calls the listener after every auth change; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

/** The Watch service's settings. */
export interface WatchServiceOptions extends Partial<Omit<WatchStreamLimits, 'maxRequestBytes'>> {
  /** etcd's --max-request-bytes: the fragment size limit. */
  readonly maxRequestBytes: number;
  /** Interval of progress notifications to progress_notify watchers; etcd's default is 10 minutes. */
  readonly progressNotifyIntervalMs?: number;
  /** Streams served at once; beyond, a new call is refused with RESOURCE_EXHAUSTED. */
  readonly streamsMax?: number;
  /** Whether this member knows a leader; streams opened with `hasleader: true` metadata need one. */
  readonly hasLeader?: () => boolean;
  /** How often the leader is checked for those streams (etcd: every election timeout). */
  readonly leaderCheckIntervalMs?: number;
  /** Checks each watch create against the stream's caller, and open watches again after each auth change. */
  readonly authorizer?: WatchAuthorizer;
}

/** Checks without a leader after which `hasleader` streams are ended, as etcd's monitorLeader does. */
const NO_LEADER_CHECKS_MAX = 3;

/** etcd's default progress notification interval. */
export const DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;

/** The Watch service of one member. */
export class WatchService {
  private readonly streams = new Set<WatchStream>();
  /** Streams whose client asked for a leader (`hasleader` metadata); a subset of streams. */
  private readonly leaderStreams = new Set<WatchStream>();
  private readonly timer: NodeJS.Timeout;
  private readonly leaderTimer: NodeJS.Timeout | undefined;
  private noLeaderChecks = 0;
  private readonly limits: WatchStreamLimits;
  private readonly streamsMax: number;
  private readonly log: Logger;
  private readonly authorizer: WatchAuthorizer | undefined;
  private readonly unsubscribeAuth: (() => void) | undefined;
  /** Shared by every stream, so an event is encoded once for all of them. */
  private readonly encoder = new WatchResponseEncoder(
    etcdServices().Watch.service.Watch!.responseSerialize as WatchResponseSerializer,
  );

  constructor(
    private readonly hub: WatchHub,
    private readonly header: () => WireHeader,
    options: WatchServiceOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'watch' });
    this.limits = {
      maxRequestBytes: options.maxRequestBytes,
      watchersPerStreamMax: options.watchersPerStreamMax ?? 10_000,
      bufferedBytesMax: options.bufferedBytesMax ?? 4 * 1024 * 1024,
    };
    this.streamsMax = options.streamsMax ?? 10_000;
    this.authorizer = options.authorizer;
    // A revoked permission or a deleted user takes effect at once on open streams.
    this.unsubscribeAuth = this.authorizer?.onChange(() => {
      for (const s of this.streams) s.reauthorize();
    });
    const interval = options.progressNotifyIntervalMs ?? DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS;
    this.timer = setInterval(() => {
      for (const s of this.streams) s.progressTick();
    }, interval);
    this.timer.unref();
    const hasLeader = options.hasLeader;
    if (hasLeader) {
      this.hasLeader = hasLeader;
      this.leaderTimer = setInterval(
        () => this.checkLeader(hasLeader),
        options.leaderCheckIntervalMs ?? 1000,
      );
      this.leaderTimer.unref();
    }
  }

  private readonly hasLeader: () => boolean = () => true;

  /**
   * A member cut off from the leader would keep a watch open that never sees another event:
   * after a few checks without a leader, streams that asked for one end with "no leader", so
   * their clients move to a member that has one.
   */
  private checkLeader(hasLeader: () => boolean): void {
    if (hasLeader()) {
      this.noLeaderChecks = 0;
      return;
    }
    if (++this.noLeaderChecks < NO_LEADER_CHECKS_MAX) return;
    const err = toGrpcError(new CairnError(ErrorCode.NO_LEADER, 'no leader'));
    for (const s of [...this.leaderStreams]) s.shutdown(err);
    this.leaderStreams.clear();
  }

  /** How many streams are open (for leak checks). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** The handlers of etcdserverpb.Watch. */
  handlers(): grpc.UntypedServiceImplementation {
    return {
      Watch: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        if (this.streams.size >= this.streamsMax) {
          call.emit('error', toGrpcError(new CairnError(ErrorCode.OVERLOADED, 'too many watch streams')));
          return;
        }
        const requireLeader = call.metadata.get('hasleader')[0] === 'true';
        if (requireLeader && !this.hasLeader()) {
          call.emit('error', toGrpcError(new CairnError(ErrorCode.NO_LEADER, 'no leader')));
          return;
        }
        const authorizer = this.authorizer;
        const caller: Caller = callerContext.getStore() ?? { user: undefined };
        const stream = new WatchStream(
          call,
          {
            hub: this.hub,
            header: this.header,
            encoder: this.encoder,
            logger: this.log,
            ...(authorizer
              ? {
                  permits: (key: Uint8Array, rangeEnd?: Uint8Array) =>
                    authorizer.permitted(caller, 'read', key, rangeEnd),
                }
              : {}),
          },
          this.limits,
          (s) => {
            this.streams.delete(s);
            this.leaderStreams.delete(s);
          },
        );
        this.streams.add(stream);
        if (requireLeader) this.leaderStreams.add(stream);
      },
    };
  }

  /** Ends every stream (the member is stopping) and the progress timer. */
  close(): void {
    clearInterval(this.timer);
    this.unsubscribeAuth?.();
    if (this.leaderTimer) clearInterval(this.leaderTimer);
    const err = toGrpcError(new CairnError(ErrorCode.STOPPED, 'server stopped'));
    for (const s of [...this.streams]) s.shutdown(err);
    this.streams.clear();
  }
}
