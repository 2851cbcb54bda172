/**
 * The raft peer transport over gRPC. Every member serves RaftPeer (on a server of its own,
 * or on one the node owns) and keeps, per peer, a control stream and an append stream on
 * separate connections plus a snapshot slot (peer-link.ts), so that heartbeats and votes
 * never wait behind large appends (thesis 3.4). Every queue is bounded in messages and
 * bytes; a message that does not fit, or whose peer is down, is dropped and the node is told
 * the peer is unreachable (raft recovers by probing, thesis 3.5). Callbacks to the node never
 * happen inside send(), and never after stop().
 */
import * as grpc from '@grpc/grpc-js';
import type { LazyBytes } from '../common/lazy-bytes.js';
import type { Logger } from '../common/logger.js';
import { type PeerCredentials, peerDialCredentials } from '../common/tls.js';
import { type Message, MessageType, type NodeId } from '../raft/types.js';
import { RECONNECT_BACKOFF_INITIAL_MS, RECONNECT_BACKOFF_MAX_MS } from './backoff.js';
import { FRAME_OVERHEAD_BYTES, grpcTargetOf, PeerLink, type PeerStats } from './peer-link.js';
import { type IncomingStats, PeerService } from './peer-service.js';
import { WIRE_MESSAGE_TYPES } from './raft-codec.js';
import { loadRaftProto, withWireBytes } from './raft-proto.js';
import { SNAPSHOT_BYTES_MAX_DEFAULT, SNAPSHOT_CHUNK_BYTES_DEFAULT } from './snapshot-chunks.js';
import type { Transport, TransportHandler } from './transport.js';

/** Default bound on the messages one stream holds (queued plus unflushed). */
export const QUEUE_MESSAGES_MAX_DEFAULT = 4096;
/** Default bound on the encoded bytes one stream holds. */
export const QUEUE_BYTES_MAX_DEFAULT = 32 * 1024 * 1024;
/** Default largest encoded message; raft bounds its own messages far below this (1 MiB by default). */
export const MESSAGE_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** Default time a stream may take to be established before it is retried. */
export const CONNECT_TIMEOUT_MS_DEFAULT = 5_000;
/** Default longest time one snapshot transfer may take. */
export const SNAPSHOT_SEND_TIMEOUT_MS_DEFAULT = 10 * 60 * 1000;
/** Default number of snapshots received at the same time. */
export const INCOMING_SNAPSHOTS_MAX_DEFAULT = 2;

/** gRPC server options for a server that hosts RaftPeer: it must admit the transport's largest frame. */
export function raftPeerServerOptions(
  messageBytesMax: number = MESSAGE_BYTES_MAX_DEFAULT,
  snapshotChunkBytes: number = SNAPSHOT_CHUNK_BYTES_DEFAULT,
): grpc.ServerOptions {
  const frameBytesMax = Math.max(messageBytesMax, snapshotChunkBytes) + FRAME_OVERHEAD_BYTES;
  return {
    'grpc.max_receive_message_length': frameBytesMax,
    'grpc.max_send_message_length': FRAME_OVERHEAD_BYTES,
  };
}

/** The server options for the default limits (what api/server.ts creates its peer server with). */
export const RAFT_PEER_SERVER_OPTIONS: grpc.ServerOptions = Object.freeze(raftPeerServerOptions());

/**
 * How a GrpcTransport is set up: who it is, where it delivers (the TransportHandler's
 * callbacks sit on the options), optionally where it listens and with which credentials,
 * and its bounds. Every bound has a default.
 */
export interface GrpcTransportOptions extends TransportHandler {
  readonly selfId: NodeId;
  readonly clusterId: number;
  /** The component's logger (a child with { component: 'transport' }); peers get children of it. */
  readonly logger: Logger;
  /** Where start() listens (host:port or http://host:port; port 0 picks one). Without it, use registerOn(). */
  readonly listenAddress?: string;
  /** TLS for the server start() creates; insecure by default. */
  readonly serverCredentials?: grpc.ServerCredentials;
  /** TLS for the connections to peers, made on first use; insecure by default. A peer at an http:// URL is always dialled in plaintext. */
  readonly channelCredentials?: PeerCredentials;
  readonly queueMessagesMax?: number;
  readonly queueBytesMax?: number;
  readonly messageBytesMax?: number;
  readonly snapshotBytesMax?: number;
  readonly snapshotChunkBytes?: number;
  readonly snapshotSendTimeoutMs?: number;
  readonly incomingSnapshotsMax?: number;
  readonly connectTimeoutMs?: number;
  readonly reconnectBackoffInitialMs?: number;
  readonly reconnectBackoffMaxMs?: number;
  /** Whether a member was removed from the cluster: its messages are refused. */
  readonly isRemovedMember?: (id: NodeId) => boolean;
  /** A peer refused this member as removed from the cluster (it should stop itself). */
  readonly onRemovedFromCluster?: () => void;
}

/** The gRPC implementation of Transport. */
export class GrpcTransport implements Transport {
  private readonly peers = new Map<NodeId, PeerLink>();
  private readonly service: PeerService;
  private readonly log: Logger;
  private server: grpc.Server | undefined;
  private boundPort: number | undefined;
  private stopped = false;

  constructor(private readonly opts: GrpcTransportOptions) {
    this.log = opts.logger;
    this.service = new PeerService({
      local: { clusterId: opts.clusterId, selfId: opts.selfId },
      log: opts.logger,
      snapshotBytesMax: opts.snapshotBytesMax ?? SNAPSHOT_BYTES_MAX_DEFAULT,
      incomingSnapshotsMax: opts.incomingSnapshotsMax ?? INCOMING_SNAPSHOTS_MAX_DEFAULT,
      deliver: (m) => this.deliver(m),
      // A peer that reaches this member is up: a link to it waiting to retry need not wait.
      onStreamFrom: (from) => this.peers.get(from)?.wake(),
      ...(opts.isRemovedMember ? { isRemoved: opts.isRemovedMember } : {}),
    });
    loadRaftProto();
  }

  /** The port start() bound (useful with port 0); undefined before start() or without listenAddress. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Listens on listenAddress with a server of the transport's own; does nothing without one. */
  async start(): Promise<void> {
    if (this.stopped) throw new Error('GrpcTransport: start() after stop()');
    if (this.opts.listenAddress === undefined || this.server !== undefined) return;
    const server = new grpc.Server(
      raftPeerServerOptions(this.opts.messageBytesMax, this.opts.snapshotChunkBytes),
    );
    this.registerOn(server);
    this.server = server;
    const credentials = this.opts.serverCredentials ?? grpc.ServerCredentials.createInsecure();
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(grpcTargetOf(this.opts.listenAddress!), credentials, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.log.info({ port: this.boundPort }, 'raft peer transport listening');
  }

  /** Adds the RaftPeer service to a server the node owns (and binds, and shuts down). */
  registerOn(server: grpc.Server): void {
    server.addService(withWireBytes(loadRaftProto().service), this.service.implementation());
  }

  /** @deprecated Use registerOn(); kept while api/server.ts still calls it by this name. */
  register(server: grpc.Server): void {
    this.registerOn(server);
  }

  /** Queues messages to their peers; never blocks, never throws. Drops are reported via onUnreachable. */
  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    const unreachable = new Set<NodeId>();
    for (const m of messages) {
      let sent = false;
      try {
        sent = this.sendOne(m);
      } catch (err) {
        this.log.error({ err, to: m.to, type: m.type }, 'send failed');
      }
      if (!sent) {
        unreachable.add(m.to);
        this.reportDropped(m);
      }
    }
    for (const id of unreachable) this.reportUnreachable(id);
  }

  /** Sends a Snap message with its data made as it is sent; the outcome comes back through onSnapshotStatus. */
  sendSnapshot(m: Message, data: LazyBytes): void {
    if (this.stopped) return;
    const link = this.peers.get(m.to);
    if (link === undefined) {
      this.log.debug({ to: m.to }, 'snapshot for an unknown peer: drop');
      this.reportSnapshotStatus(m.to, false);
      return;
    }
    link.sendSnapshot(m, data);
  }

  /** Opens the connections and streams to a peer; a known peer at another URL is moved there. */
  addPeer(id: NodeId, url: string): void {
    if (this.stopped || id === this.opts.selfId) return;
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      if (existing.url === url) return;
      this.removePeer(id);
    }
    const log = this.log.child({ peer: id });
    this.peers.set(
      id,
      new PeerLink({
        id,
        selfId: this.opts.selfId,
        url,
        log,
        clusterId: this.opts.clusterId,
        credentials: peerDialCredentials(url, this.opts.channelCredentials),
        bounds: {
          queueMessagesMax: this.opts.queueMessagesMax ?? QUEUE_MESSAGES_MAX_DEFAULT,
          queueBytesMax: this.opts.queueBytesMax ?? QUEUE_BYTES_MAX_DEFAULT,
          connectTimeoutMs: this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT,
        },
        messageBytesMax: this.opts.messageBytesMax ?? MESSAGE_BYTES_MAX_DEFAULT,
        snapshotChunkBytes: this.opts.snapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES_DEFAULT,
        snapshotBytesMax: this.opts.snapshotBytesMax ?? SNAPSHOT_BYTES_MAX_DEFAULT,
        snapshotSendTimeoutMs: this.opts.snapshotSendTimeoutMs ?? SNAPSHOT_SEND_TIMEOUT_MS_DEFAULT,
        reconnectBackoffInitialMs: this.opts.reconnectBackoffInitialMs ?? RECONNECT_BACKOFF_INITIAL_MS,
        reconnectBackoffMaxMs: this.opts.reconnectBackoffMaxMs ?? RECONNECT_BACKOFF_MAX_MS,
        onUnreachable: () => this.reportUnreachable(id),
        onSnapshotStatus: (ok) => this.reportSnapshotStatus(id, ok),
        onRemoved: () => this.reportRemoved(),
        onActive: () => this.reportActive(id),
        onDown: () => this.reportDown(id),
      }),
    );
    log.info({ url }, 'peer added');
  }

  /** Closes the peer's streams and connections; a snapshot under way to it reports failure. */
  removePeer(id: NodeId): void {
    const link = this.peers.get(id);
    if (link === undefined) return;
    this.peers.delete(id);
    link.close();
    this.log.info({ peer: id }, 'peer removed');
  }

  /** Moves a peer to a new URL; what was queued for the old one is dropped. */
  updatePeer(id: NodeId, url: string): void {
    this.addPeer(id, url);
  }

  /** What the link to a peer holds now; undefined for an unknown peer. */
  peerStats(id: NodeId): PeerStats | undefined {
    return this.peers.get(id)?.stats();
  }

  /** What arrived from peers so far. */
  incomingStats(): IncomingStats {
    return this.service.stats();
  }

  /** Closes every peer link, ends every incoming call and shuts the own server down; no callback fires afterwards. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const id of [...this.peers.keys()]) this.removePeer(id);
    this.service.close();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      // Every call was ended above, so a graceful shutdown completes; force it if it lingers.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** False if the message was dropped at once (the caller reports the peer unreachable). */
  private sendOne(m: Message): boolean {
    if (!WIRE_MESSAGE_TYPES.has(m.type)) {
      this.log.error({ type: m.type, to: m.to }, 'local message type given to the transport: drop');
      return true;
    }
    const link = this.peers.get(m.to);
    if (link === undefined) {
      this.log.debug({ to: m.to, type: m.type }, 'unknown peer: drop');
      if (m.type === MessageType.Snap) this.reportSnapshotStatus(m.to, false);
      return false;
    }
    return link.send(m);
  }

  private deliver(m: Message): void {
    if (this.stopped) return;
    try {
      this.opts.onMessage(m);
    } catch (err) {
      this.log.error({ err, from: m.from, type: m.type }, 'onMessage threw');
    }
  }

  private reportActive(id: NodeId): void {
    this.defer(() => this.opts.onPeerActive?.(id));
  }

  private reportDown(id: NodeId): void {
    this.defer(() => this.opts.onPeerDown?.(id));
  }

  private reportDropped(m: Message): void {
    const onDropped = this.opts.onDropped;
    if (onDropped !== undefined) this.defer(() => onDropped(m));
  }

  private reportUnreachable(id: NodeId): void {
    this.defer(() => this.opts.onUnreachable(id));
  }

  private reportRemoved(): void {
    const onRemoved = this.opts.onRemovedFromCluster;
    if (onRemoved) this.defer(onRemoved);
  }

  private reportSnapshotStatus(id: NodeId, ok: boolean): void {
    this.defer(() => this.opts.onSnapshotStatus(id, ok));
  }

  /** Runs a callback to the node outside of the current call (never inside send()), unless stopped by then. */
  private defer(f: () => void): void {
    queueMicrotask(() => {
      if (this.stopped) return;
      try {
        f();
      } catch (err) {
        this.log.error({ err }, 'transport callback threw');
      }
    });
  }
}
