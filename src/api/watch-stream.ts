/**
 * One Watch/Watch stream: its watchers (ids chosen by the client or by us, as etcd's
 * watchStream), created/canceled replies in request order, events as the hub hands them
 * over, progress notifications, fragments, and backpressure. Backpressure: the bytes
 * written but not yet flushed to the connection are counted; past a bound the watchers'
 * sinks pause the hub (which queues, bounded, then ends too-slow watchers) and requests are
 * not read; when the connection drains, everything resumes.
 */
import type * as grpc from '@grpc/grpc-js';
import { isCairnError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { WatchBatch, WatchEnd, WatchHandle, WatchHub } from '../mvcc/index.js';
import { type MessageSender, senderFor } from './direct-send.js';
import { toGrpcError } from './errors.js';
import type { WireHeader } from './header.js';
import type { WatchResponseEncoder } from './watch-encoding.js';
import {
  createFromWire,
  eventToWire,
  fragmentsOf,
  isEmptyRange,
  type WatchCreate,
  type WireWatchResponse,
  watchResponse,
  wireResponseBytes,
} from './watch-wire.js';

/** The watch_id of a response that belongs to no watcher (etcd's InvalidWatchID): progress for the whole stream. */
export const STREAM_WATCH_ID = -1;

/** etcd's cancel reasons, matched by clients as text. */
export const WATCH_CANCEL_REASONS = {
  duplicateId: 'mvcc: duplicate watch ID provided on the WatchStream',
  emptyRange: 'mvcc: watcher range is empty',
  tooManyWatchers: 'etcdserver: too many requests',
  // etcd sends the gRPC error's text of ErrGRPCPermissionDenied as the reason.
  permissionDenied: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
} as const;

/** What a stream needs from the member. */
export interface WatchStreamDeps {
  readonly hub: WatchHub;
  /** The header at the store's current revision and the current term. */
  header(): WireHeader;
  readonly logger: Logger;
  /** Whether the stream's caller may read [key, rangeEnd) now; absent: everything may be watched. */
  readonly permits?: (key: Uint8Array, rangeEnd?: Uint8Array) => boolean;
  /**
   * Encodes events responses once for every watcher of the member; absent, each response is
   * sent as an object and serialized on its own (the call's serializer must then take Buffers).
   */
  readonly encoder?: WatchResponseEncoder;
}

/** A stream's bounds. */
export interface WatchStreamLimits {
  /** etcd's --max-request-bytes: responses of fragment watchers are split below it. */
  readonly maxRequestBytes: number;
  /** Watchers one stream may hold; beyond, a create is answered created+canceled. */
  readonly watchersPerStreamMax: number;
  /** Unflushed response bytes beyond which the stream pushes back. */
  readonly bufferedBytesMax: number;
}

type Call = grpc.ServerDuplexStream<unknown, unknown>;

interface StreamWatcher {
  readonly id: number;
  readonly create: WatchCreate;
  handle: WatchHandle | undefined;
  /** Whether events went out since the last progress tick (then no progress notification is due). */
  sentSinceTick: boolean;
  /** Its watch id encoded as a response field, made at its first events response. */
  watchIdField?: Buffer;
}

/** The server side of one bidirectional Watch call. */
export class WatchStream {
  private readonly watchers = new Map<number, StreamWatcher>();
  /** Invariant: no live watcher has an id in [0, nextAutoId) that auto-assignment would still hand out. */
  private nextAutoId = 0;
  /** Invariant: bytes written to the call whose write callback has not fired yet. */
  private bufferedBytes = 0;
  /** Whether writes are past the bound: sinks answer false and requests are not read. */
  private saturated = false;
  /** A progress request waits until every watcher is synced (as etcd 3.5's RequestProgressAll). */
  private progressDeferred = false;
  private progressCheckQueued = false;
  private closed = false;
  /** Every response goes out through it, so they stay in order (see direct-send.ts). */
  private readonly send: MessageSender;

  constructor(
    private readonly call: Call,
    private readonly deps: WatchStreamDeps,
    private readonly limits: WatchStreamLimits,
    private readonly onClosed: (s: WatchStream) => void,
  ) {
    this.send = senderFor(call);
    call.on('data', (req: unknown) => this.handleRequest(req));
    call.on('end', () => this.close('client ended the stream'));
    call.on('cancelled', () => this.close('client cancelled'));
    call.on('error', () => this.close('stream error'));
    call.on('close', () => this.close('stream closed'));
    call.on('drain', () => this.maybeUnsaturate());
  }

  /** How many watchers the stream holds. */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Sends a progress notification to each progress_notify watcher that is synced and got no events since the last tick. */
  progressTick(): void {
    if (this.closed) return;
    for (const sw of this.watchers.values()) {
      if (!sw.create.progressNotify) continue;
      if (!sw.sentSinceTick && sw.handle?.idle === true) this.write(watchResponse(this.deps.header(), sw.id));
      sw.sentSinceTick = false;
    }
  }

  /** Ends the stream from the server side (shutdown): watchers are cancelled, the client sees the status. */
  shutdown(err: Error): void {
    if (this.closed) return;
    this.close('server shutting down');
    this.call.emit('error', err);
  }

  private handleRequest(req: unknown): void {
    if (this.closed) return;
    // biome-ignore lint/suspicious/noExplicitAny: decoded wire object
    const r = req as any;
    try {
      if (r.create_request) this.create(r.create_request);
      else if (r.cancel_request) this.cancel(Number(r.cancel_request.watch_id ?? 0));
      else if (r.progress_request) this.requestProgress();
      // An empty request is ignored, as etcd does.
    } catch (err) {
      if (!isCairnError(err)) this.deps.logger.error({ err }, 'watch request failed');
      this.close('bad request');
      this.call.emit('error', toGrpcError(err));
    }
  }

  private create(wire: unknown): void {
    const create = createFromWire(wire);
    const header = this.deps.header();
    const refusal = isEmptyRange(create.options.key, create.options.rangeEnd)
      ? WATCH_CANCEL_REASONS.emptyRange
      : create.watchId !== 0 && this.watchers.has(create.watchId)
        ? WATCH_CANCEL_REASONS.duplicateId
        : this.watchers.size >= this.limits.watchersPerStreamMax
          ? WATCH_CANCEL_REASONS.tooManyWatchers
          : this.deps.permits && !this.deps.permits(create.options.key, create.options.rangeEnd)
            ? WATCH_CANCEL_REASONS.permissionDenied
            : undefined;
    if (refusal !== undefined) {
      // As etcd: created and canceled at once, with no watch id (clients pair it with their request).
      this.write(
        watchResponse(header, STREAM_WATCH_ID, { created: true, canceled: true, cancel_reason: refusal }),
      );
      return;
    }
    let id = create.watchId;
    if (id === 0) {
      while (this.watchers.has(this.nextAutoId)) this.nextAutoId++;
      id = this.nextAutoId++;
    }
    const sw: StreamWatcher = { id, create, handle: undefined, sentSinceTick: false };
    this.watchers.set(id, sw);
    // "created" first, carrying the revision the watch starts after; replay may follow at once.
    this.write(watchResponse(header, id, { created: true }));
    sw.handle = this.deps.hub.watch(create.options, {
      deliver: (batch) => this.deliver(sw, batch),
      ended: (end) => this.ended(sw, end),
      behind: () => setImmediate(() => this.resumeOne(sw)),
    });
  }

  /** Cancels every watcher the caller may no longer read (the auth state changed), with etcd's permission-denied reason. */
  reauthorize(): void {
    const permits = this.deps.permits;
    if (this.closed || !permits) return;
    for (const sw of [...this.watchers.values()]) {
      if (permits(sw.create.options.key, sw.create.options.rangeEnd)) continue;
      this.watchers.delete(sw.id);
      sw.handle?.cancel();
      this.write(
        watchResponse(this.deps.header(), sw.id, {
          canceled: true,
          cancel_reason: WATCH_CANCEL_REASONS.permissionDenied,
        }),
      );
    }
    this.queueProgressCheck();
  }

  private cancel(id: number): void {
    const sw = this.watchers.get(id);
    if (sw === undefined) return; // etcd answers nothing for an unknown id
    this.watchers.delete(id);
    sw.handle?.cancel();
    this.write(watchResponse(this.deps.header(), id, { canceled: true }));
    this.queueProgressCheck();
  }

  private requestProgress(): void {
    if (this.allSynced()) this.sendStreamProgress();
    else this.progressDeferred = true;
  }

  private deliver(sw: StreamWatcher, batch: WatchBatch): boolean {
    if (this.closed || this.watchers.get(sw.id) !== sw) return true;
    sw.sentSinceTick = true;
    const header = { ...this.deps.header(), revision: batch.revision };
    const encoder = this.deps.encoder;
    if (encoder && !sw.create.fragment) {
      sw.watchIdField ??= encoder.watchIdField(sw.id);
      this.write(encoder.eventsResponse(header, sw.watchIdField, batch.events, sw.create.prevKv));
    } else {
      const events = batch.events.map((ev) => eventToWire(ev, sw.create.prevKv));
      const response = watchResponse(header, sw.id, { events });
      if (sw.create.fragment)
        for (const part of fragmentsOf(response, this.limits.maxRequestBytes)) this.write(part);
      else this.write(response);
    }
    this.queueProgressCheck();
    return !this.saturated;
  }

  private ended(sw: StreamWatcher, end: WatchEnd): void {
    if (this.closed || this.watchers.get(sw.id) !== sw) return;
    this.watchers.delete(sw.id);
    const fields =
      end.kind === 'compacted'
        ? { canceled: true, compact_revision: end.compactRevision }
        : { canceled: true, cancel_reason: end.reason };
    this.write(watchResponse(this.deps.header(), sw.id, fields));
    this.queueProgressCheck();
  }

  private allSynced(): boolean {
    for (const sw of this.watchers.values()) if (sw.handle?.idle !== true) return false;
    return true;
  }

  private sendStreamProgress(): void {
    this.progressDeferred = false;
    this.write(watchResponse(this.deps.header(), STREAM_WATCH_ID));
  }

  /** Checks a deferred progress request once the hub's current call has finished. */
  private queueProgressCheck(): void {
    if (!this.progressDeferred || this.progressCheckQueued) return;
    this.progressCheckQueued = true;
    queueMicrotask(() => {
      this.progressCheckQueued = false;
      if (!this.closed && this.progressDeferred && this.allSynced()) this.sendStreamProgress();
    });
  }

  private resumeOne(sw: StreamWatcher): void {
    if (this.closed || this.saturated) return; // a saturated stream resumes everyone on drain
    sw.handle?.resume();
    this.queueProgressCheck();
  }

  /** Sends a response, as an object or already encoded. */
  private write(response: WireWatchResponse | Buffer): void {
    if (this.closed) return;
    const bytes = Buffer.isBuffer(response) ? response.length : wireResponseBytes(response);
    this.bufferedBytes += bytes;
    const below = this.send(response, () => {
      this.bufferedBytes -= bytes;
      this.maybeUnsaturate();
    });
    if (!below || this.bufferedBytes > this.limits.bufferedBytesMax) {
      if (!this.saturated) {
        this.saturated = true;
        this.call.pause();
      }
    }
  }

  private maybeUnsaturate(): void {
    if (!this.saturated || this.closed) return;
    if (this.call.writableNeedDrain || this.bufferedBytes > this.limits.bufferedBytesMax / 2) return;
    this.saturated = false;
    this.call.resume();
    setImmediate(() => {
      for (const sw of [...this.watchers.values()]) {
        if (this.saturated || this.closed) return;
        sw.handle?.resume();
      }
      this.queueProgressCheck();
    });
  }

  private close(why: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const sw of this.watchers.values()) sw.handle?.cancel();
    this.deps.logger.debug({ why, watchers: this.watchers.size }, 'watch stream closed');
    this.watchers.clear();
    this.onClosed(this);
    if (why === 'client ended the stream') this.call.end();
  }
}
