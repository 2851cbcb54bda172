/**
 * Everything a member keeps for one peer: two connections (control and append, so a
 * heartbeat never shares a TCP send buffer with megabytes of entries), a long-lived stream
 * on each, and a snapshot slot on the append connection. It routes each message to its lane
 * and encodes it there, so queue bounds count exact bytes.
 */
import type * as grpc from '@grpc/grpc-js';
import { eagerBytes, type LazyBytes } from '../common/lazy-bytes.js';
import type { Logger } from '../common/logger.js';
import type { Message, NodeId } from '../raft/types.js';
import { Backoff } from './backoff.js';
import { peerDialUrl } from './dial-redirect.js';
import { encodeEnvelopeFrame } from './envelope-wire.js';
import { laneOf } from './lanes.js';
import { PeerStream, type StreamBounds, type StreamStats } from './peer-stream.js';
import { loadRaftProto } from './raft-proto.js';
import { SnapshotSender } from './snapshot-sender.js';

/**
 * How soon a peer's connection is dialled again after it failed, at first and at most. It is
 * kept short (etcd dials a lost peer every 100 ms) so that a stream woken by its peer finds the
 * connection up within half a second; the streams on it keep their own, longer backoff.
 */
const CHANNEL_RECONNECT_BACKOFF_INITIAL_MS = 100;
const CHANNEL_RECONNECT_BACKOFF_MAX_MS = 500;

/** Room for a frame's envelope around its payload, in gRPC's message size limits. */
export const FRAME_OVERHEAD_BYTES = 64 * 1024;

/** What one peer link needs: the peer, the channel settings, the bounds and where to report. */
export interface PeerLinkOptions {
  readonly id: NodeId;
  /** This member. */
  readonly selfId: NodeId;
  readonly url: string;
  readonly log: Logger;
  readonly clusterId: number;
  readonly credentials: grpc.ChannelCredentials;
  readonly bounds: StreamBounds;
  /** Larger messages are dropped before they are queued. */
  readonly messageBytesMax: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotBytesMax: number;
  readonly snapshotSendTimeoutMs: number;
  readonly reconnectBackoffInitialMs: number;
  readonly reconnectBackoffMaxMs: number;
  /** Messages to this peer were lost after they were accepted. */
  readonly onUnreachable: () => void;
  readonly onSnapshotStatus: (ok: boolean) => void;
  /** The peer says this member was removed from the cluster. */
  readonly onRemoved?: () => void;
  /** The peer accepted the control stream (at every reconnect): it is up and reachable. */
  readonly onActive?: () => void;
  /** The control stream the peer had accepted ended: the peer may be down. */
  readonly onDown?: () => void;
}

/** What a peer link holds right now, for tests and metrics. */
export interface PeerStats {
  readonly control: StreamStats;
  readonly append: StreamStats;
  readonly snapshotSending: boolean;
  /** Encoded bytes both streams sent to this peer (snapshots not counted). */
  readonly sentBytes: number;
}

/** Turns a peer URL (http://host:port, https://host:port, host:port, unix:path) into a gRPC target. */
export function grpcTargetOf(url: string): string {
  const m = /^(?:https?|grpcs?):\/\/([^/]+)\/?$/.exec(url);
  return m === null ? url : m[1]!;
}

/** One peer's connections, streams and snapshot slot. */
export class PeerLink {
  private readonly controlClient: grpc.Client;
  private readonly appendClient: grpc.Client;
  private readonly control: PeerStream;
  private readonly append: PeerStream;
  private readonly snapshots: SnapshotSender;

  constructor(private readonly opts: PeerLinkOptions) {
    const { Client } = loadRaftProto();
    const target = grpcTargetOf(peerDialUrl(opts.url));
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_send_message_length':
        Math.max(opts.messageBytesMax, opts.snapshotChunkBytes) + FRAME_OVERHEAD_BYTES,
      'grpc.max_receive_message_length': FRAME_OVERHEAD_BYTES,
      'grpc.initial_reconnect_backoff_ms': CHANNEL_RECONNECT_BACKOFF_INITIAL_MS,
      'grpc.max_reconnect_backoff_ms': CHANNEL_RECONNECT_BACKOFF_MAX_MS,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      // A pool of its own per channel: control and append get separate connections.
      'grpc.use_local_subchannel_pool': 1,
    };
    this.controlClient = new Client(target, opts.credentials, channelOptions);
    this.appendClient = new Client(target, opts.credentials, channelOptions);
    const backoff = (): Backoff =>
      new Backoff({ initialMs: opts.reconnectBackoffInitialMs, maxMs: opts.reconnectBackoffMaxMs });
    this.control = new PeerStream({
      client: this.controlClient,
      senderId: opts.selfId,
      log: opts.log.child({ lane: 'control' }),
      bounds: opts.bounds,
      backoff: backoff(),
      onLost: opts.onUnreachable,
      ...(opts.onRemoved ? { onRemoved: opts.onRemoved } : {}),
      ...(opts.onActive ? { onOpen: opts.onActive } : {}),
      ...(opts.onDown ? { onDown: opts.onDown } : {}),
    });
    this.append = new PeerStream({
      client: this.appendClient,
      senderId: opts.selfId,
      log: opts.log.child({ lane: 'append' }),
      bounds: opts.bounds,
      backoff: backoff(),
      onLost: opts.onUnreachable,
      ...(opts.onRemoved ? { onRemoved: opts.onRemoved } : {}),
    });
    this.snapshots = new SnapshotSender({
      client: this.appendClient,
      log: opts.log.child({ lane: 'snapshot' }),
      clusterId: opts.clusterId,
      chunkBytes: opts.snapshotChunkBytes,
      snapshotBytesMax: opts.snapshotBytesMax,
      timeoutMs: opts.snapshotSendTimeoutMs,
      onStatus: opts.onSnapshotStatus,
      onUnreachable: opts.onUnreachable,
    });
  }

  /** The URL this link dials. */
  get url(): string {
    return this.opts.url;
  }

  /**
   * Routes a message to its lane. False if it was dropped at once (lane down or full, or too
   * large); a snapshot always returns true and reports its outcome through onSnapshotStatus.
   */
  send(m: Message): boolean {
    const lane = laneOf(m.type);
    if (lane === 'snapshot') {
      this.sendSnapshot(m, eagerBytes(m.snapshot?.data ?? new Uint8Array(0)));
      return true;
    }
    const frame = encodeEnvelopeFrame(this.opts.clusterId, m);
    if (frame.byteLength > this.opts.messageBytesMax) {
      this.opts.log.error(
        { type: m.type, bytes: frame.byteLength, messageBytesMax: this.opts.messageBytesMax },
        'message larger than messageBytesMax: drop',
      );
      return false;
    }
    return (lane === 'append' ? this.append : this.control).enqueue(frame);
  }

  /** Sends a Snap message with its data made as it is sent; the outcome goes to onSnapshotStatus. */
  sendSnapshot(m: Message, data: LazyBytes): void {
    this.snapshots.send(m, data);
  }

  /** The peer opened a stream to this member: streams waiting to retry try now. */
  wake(): void {
    this.control.wake();
    this.append.wake();
  }

  /** What the link holds now. */
  stats(): PeerStats {
    const control = this.control.stats();
    const append = this.append.stats();
    return {
      control,
      append,
      snapshotSending: this.snapshots.sending,
      sentBytes: control.sentBytes + append.sentBytes,
    };
  }

  /** Closes streams and connections; a snapshot under way reports failure. */
  close(): void {
    this.control.close();
    this.append.close();
    this.snapshots.close();
    this.controlClient.close();
    this.appendClient.close();
  }
}
