/**
 * The raft peer transport over gRPC: every member serves RaftPeer.Stream and keeps, per
 * peer, one channel with two long-lived client streams — "control" (heartbeats, votes,
 * responses) and "bulk" (App and Snap) — so that a heartbeat never waits behind megabytes
 * of appends (the leader's authority depends on heartbeats arriving in time, thesis 3.4).
 * Every stream has a bounded queue; when it overflows, or the peer is unreachable, messages
 * are dropped and the node is told (raft recovers by probing, thesis 3.5).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import { type Message, MessageType, type NodeId } from '../raft/types.js';
import { decodeMessage, encodeEnvelope, estimateMessageBytes, WIRE_MESSAGE_TYPES } from './raft-codec.js';
import { loadRaftProto, type WireAck, type WireEnvelope } from './raft-proto.js';
import { chunkSnapshot, SnapshotAssembler } from './snapshot-chunks.js';

/** Default bound on the number of queued messages per stream. */
export const QUEUE_MESSAGES_MAX_DEFAULT = 4096;
/** Default bound on the queued bytes per stream (estimated encoded size). */
export const QUEUE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** Default largest single message; larger ones are dropped before they reach the wire. */
export const MESSAGE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** First reconnect delay after a stream fails. */
export const RECONNECT_BACKOFF_INITIAL_MS = 100;
/** Longest reconnect delay. */
export const RECONNECT_BACKOFF_MAX_MS = 2000;

/** Options a server that hosts RaftPeer should be created with (large messages). */
export const RAFT_PEER_SERVER_OPTIONS: grpc.ChannelOptions = Object.freeze({
  'grpc.max_receive_message_length': MESSAGE_BYTES_MAX_DEFAULT + 1024 * 1024,
  'grpc.max_send_message_length': MESSAGE_BYTES_MAX_DEFAULT + 1024 * 1024,
});

/** What GrpcTransport needs: who it is, where messages go, and its bounds. */
export interface GrpcTransportOptions {
  readonly selfId: NodeId;
  readonly clusterId: number;
  readonly logger: Logger;
  /** Receives every valid incoming message, in arrival order per stream. */
  readonly onMessage: (m: Message) => void;
  /** A message to this peer was dropped (peer down, queue full): raft should probe it. */
  readonly onUnreachable: (id: NodeId) => void;
  /** A Snap message was written (true) or dropped/failed (false). */
  readonly onSnapshotStatus: (id: NodeId, ok: boolean) => void;
  readonly queueMessagesMax?: number;
  readonly queueBytesMax?: number;
  readonly messageBytesMax?: number;
}

/** Which of a peer's two streams a message travels on. */
type Lane = 'control' | 'bulk';

/** A message waiting for (or in) the wire. */
interface Outgoing {
  readonly envelope: WireEnvelope;
  readonly bytes: number;
  readonly isSnap: boolean;
  /** Whether the snapshot status of this message was reported (at most once). */
  reported: boolean;
}

/** What a peer stream needs from its transport. */
interface StreamHost {
  readonly logger: Logger;
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
  isStopped(): boolean;
  unreachable(peer: NodeId): void;
  snapshotStatus(peer: NodeId, ok: boolean): void;
}

type StreamState = 'connecting' | 'open' | 'backoff' | 'closed';

/** One long-lived client stream to a peer, with its bounded queue, backpressure and reconnects. */
class PeerStream {
  private state: StreamState = 'backoff';
  private call: grpc.ClientWritableStream<WireEnvelope> | undefined;
  /** Invariant: queue[queueHead..] are the messages not yet handed to call.write. */
  private queue: Outgoing[] = [];
  private queueHead = 0;
  /** Written but not yet confirmed by the write callback. */
  private readonly inFlight = new Set<Outgoing>();
  /** Invariant: the estimated bytes of queued plus in-flight messages. */
  private heldBytes = 0;
  private waitingForDrain = false;
  private backoffMs = RECONNECT_BACKOFF_INITIAL_MS;
  private timer: NodeJS.Timeout | undefined;
  /** Whether the stream was ever open since the last failure was logged (quiets repeated failures). */
  private wasOpen = false;

  constructor(
    private readonly host: StreamHost,
    private readonly client: grpc.Client,
    private readonly peer: NodeId,
    private readonly lane: Lane,
  ) {
    this.openCall();
  }

  /** Queues a message; false if it was dropped (stream down or queue full). */
  enqueue(out: Outgoing): boolean {
    if (this.state === 'backoff' || this.state === 'closed') return false;
    const held = this.queue.length - this.queueHead + this.inFlight.size;
    if (held >= this.host.queueMessagesMax || this.heldBytes + out.bytes > this.host.queueBytesMax) {
      this.host.logger.debug(
        { peer: this.peer, lane: this.lane, held, bytes: this.heldBytes },
        'queue full: drop',
      );
      return false;
    }
    this.queue.push(out);
    this.heldBytes += out.bytes;
    this.pump();
    return true;
  }

  /** Ends the stream for good; queued snapshots are reported as failed. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    this.dropAll();
  }

  private openCall(): void {
    if (this.host.isStopped()) return;
    this.state = 'connecting';
    const call = this.client.makeClientStreamRequest<WireEnvelope, WireAck>(
      '/cairn.raft.RaftPeer/Stream',
      serializeEnvelope,
      deserializeAck,
      (err) => this.onCallEnded(call, err),
    );
    this.call = call;
    call.on('metadata', () => {
      if (this.call !== call || this.state !== 'connecting') return;
      // The server answered: the stream is established and writes reach the peer.
      this.state = 'open';
      this.backoffMs = RECONNECT_BACKOFF_INITIAL_MS;
      this.wasOpen = true;
      this.host.logger.debug({ peer: this.peer, lane: this.lane }, 'stream open');
      this.pump();
    });
    call.on('drain', () => {
      if (this.call !== call) return;
      this.waitingForDrain = false;
      this.pump();
    });
    // Errors arrive through the call's callback as well; this listener keeps them from throwing.
    call.on('error', () => {});
  }

  private pump(): void {
    const call = this.call;
    if (this.state !== 'open' || call === undefined) return;
    while (!this.waitingForDrain && this.queueHead < this.queue.length) {
      const out = this.queue[this.queueHead]!;
      this.queue[this.queueHead] = undefined as unknown as Outgoing;
      this.queueHead++;
      this.inFlight.add(out);
      const flushed = call.write(out.envelope, (err: Error | null | undefined) => this.onWritten(out, err));
      if (!flushed) this.waitingForDrain = true;
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private onWritten(out: Outgoing, err: Error | null | undefined): void {
    if (!this.inFlight.delete(out)) return; // already accounted for by a failure
    this.heldBytes -= out.bytes;
    if (out.isSnap && !out.reported) {
      out.reported = true;
      this.host.snapshotStatus(this.peer, err === null || err === undefined);
    }
  }

  private onCallEnded(call: grpc.ClientWritableStream<WireEnvelope>, err: grpc.ServiceError | null): void {
    if (this.call !== call || this.state === 'closed') return;
    this.call = undefined;
    this.waitingForDrain = false;
    const log = {
      peer: this.peer,
      lane: this.lane,
      code: err?.code,
      details: err?.details,
      retryMs: this.backoffMs,
    };
    if (err?.code === grpc.status.FAILED_PRECONDITION || err?.code === grpc.status.INVALID_ARGUMENT) {
      this.host.logger.error(log, 'peer refused the stream');
    } else if (this.wasOpen) {
      this.host.logger.warn(log, 'stream to peer lost');
    } else {
      this.host.logger.debug(log, 'stream to peer failed');
    }
    this.wasOpen = false;
    const hadMessages = this.dropAll();
    this.state = 'backoff';
    if (hadMessages) this.host.unreachable(this.peer);
    // Jitter in [delay/2, delay] keeps peers from reconnecting in lockstep.
    const delayMs = Math.round(this.backoffMs * (0.5 + Math.random() * 0.5));
    this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_BACKOFF_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'backoff') this.openCall();
    }, delayMs);
    this.timer.unref();
  }

  /** Forgets every queued and in-flight message, reporting unreported snapshots as failed; true if any. */
  private dropAll(): boolean {
    const pending = [...this.inFlight, ...this.queue.slice(this.queueHead)];
    this.inFlight.clear();
    this.queue = [];
    this.queueHead = 0;
    this.heldBytes = 0;
    for (const out of pending) {
      if (out.isSnap && !out.reported) {
        out.reported = true;
        this.host.snapshotStatus(this.peer, false);
      }
    }
    return pending.length > 0;
  }
}

let envelopeCodec:
  | { serialize: (e: WireEnvelope) => Buffer; deserializeAck: (b: Buffer) => WireAck }
  | undefined;

function codec(): NonNullable<typeof envelopeCodec> {
  if (envelopeCodec === undefined) {
    const method = loadRaftProto().service.Stream!;
    envelopeCodec = {
      serialize: method.requestSerialize as (e: WireEnvelope) => Buffer,
      deserializeAck: method.responseDeserialize as (b: Buffer) => WireAck,
    };
  }
  return envelopeCodec;
}

function serializeEnvelope(e: WireEnvelope): Buffer {
  return codec().serialize(e);
}

function deserializeAck(b: Buffer): WireAck {
  return codec().deserializeAck(b);
}

/** A peer: its channel and its two streams. */
interface Peer {
  readonly url: string;
  readonly client: grpc.Client;
  readonly control: PeerStream;
  readonly bulk: PeerStream;
}

/** Turns a peer URL (http://host:port, host:port, unix:path) into a gRPC target. */
export function grpcTargetOf(url: string): string {
  const m = /^(?:https?|grpc):\/\/([^/]+)\/?$/.exec(url);
  if (m !== null) return m[1]!;
  return url;
}

/** The gRPC implementation of PeerTransport; register() adds RaftPeer to the node's server. */
export class GrpcTransport {
  private readonly peers = new Map<NodeId, Peer>();
  private readonly serverCalls = new Set<(err: grpc.ServiceError | null) => void>();
  private stopped = false;
  private readonly host: StreamHost;
  private readonly messageBytesMax: number;

  constructor(private readonly opts: GrpcTransportOptions) {
    this.messageBytesMax = opts.messageBytesMax ?? MESSAGE_BYTES_MAX_DEFAULT;
    const deferred = (f: () => void): void =>
      // Callbacks reach the node outside of its send() call, never after stop().
      queueMicrotask(() => {
        if (this.stopped) return;
        try {
          f();
        } catch (err) {
          opts.logger.error({ err }, 'transport callback threw');
        }
      });
    this.host = {
      logger: opts.logger,
      queueMessagesMax: opts.queueMessagesMax ?? QUEUE_MESSAGES_MAX_DEFAULT,
      queueBytesMax: opts.queueBytesMax ?? QUEUE_BYTES_MAX_DEFAULT,
      isStopped: () => this.stopped,
      unreachable: (peer) => deferred(() => opts.onUnreachable(peer)),
      snapshotStatus: (peer, ok) => deferred(() => opts.onSnapshotStatus(peer, ok)),
    };
    loadRaftProto();
  }

  /** Adds the RaftPeer service to a server the node owns (and binds, and shuts down). */
  register(server: grpc.Server): void {
    server.addService(loadRaftProto().service, {
      Stream: (
        call: grpc.ServerReadableStream<WireEnvelope, WireAck>,
        callback: grpc.sendUnaryData<WireAck>,
      ) => this.serveStream(call, callback),
    });
  }

  /** Queues messages to their peers; never blocks, never throws. Drops are reported via onUnreachable. */
  send(messages: readonly Message[]): void {
    const unreachable = new Set<NodeId>();
    for (const m of messages) {
      try {
        if (!this.sendOne(m)) unreachable.add(m.to);
      } catch (err) {
        this.opts.logger.error({ err, to: m.to, type: m.type }, 'send failed');
        unreachable.add(m.to);
      }
    }
    for (const id of unreachable) this.host.unreachable(id);
  }

  /** Opens a channel and the two streams to a peer; replaces the peer if its URL changed. */
  addPeer(id: NodeId, url: string): void {
    if (this.stopped || id === this.opts.selfId) return;
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      if (existing.url === url) return;
      this.removePeer(id);
    }
    const { Client } = loadRaftProto();
    const client = new Client(grpcTargetOf(url), grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': this.messageBytesMax + 1024 * 1024,
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_INITIAL_MS,
      'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MAX_MS,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.use_local_subchannel_pool': 1,
    });
    const peer: Peer = {
      url,
      client,
      control: new PeerStream(this.host, client, id, 'control'),
      bulk: new PeerStream(this.host, client, id, 'bulk'),
    };
    this.peers.set(id, peer);
    this.opts.logger.info({ peer: id, url }, 'peer added');
  }

  /** Closes the peer's streams and channel; its queued snapshots are reported as failed. */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    peer.control.close();
    peer.bulk.close();
    peer.client.close();
    this.opts.logger.info({ peer: id }, 'peer removed');
  }

  /** Closes every peer stream and channel and ends every incoming stream; no callback fires afterwards. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const id of [...this.peers.keys()]) this.removePeer(id);
    for (const finish of [...this.serverCalls]) {
      finish({ code: grpc.status.UNAVAILABLE, details: 'raft transport stopped' } as grpc.ServiceError);
    }
    this.serverCalls.clear();
  }

  private sendOne(m: Message): boolean {
    if (this.stopped) return false;
    if (!WIRE_MESSAGE_TYPES.has(m.type)) {
      this.opts.logger.error({ type: m.type, to: m.to }, 'local message type given to the transport: drop');
      return true;
    }
    const peer = this.peers.get(m.to);
    const isSnap = m.type === MessageType.Snap;
    const bytes = estimateMessageBytes(m);
    let ok = false;
    if (peer === undefined) {
      this.opts.logger.debug({ to: m.to, type: m.type }, 'unknown peer: drop');
    } else if (isSnap && m.snapshot) {
      // Chunks of at most SNAPSHOT_CHUNK_BYTES, written one at a time on the bulk stream; only
      // the last one reports the snapshot's status (a failure before it drops it too).
      const envelopes = chunkSnapshot(this.opts.clusterId, m);
      ok = true;
      for (let i = 0; i < envelopes.length && ok; i++) {
        const env = envelopes[i]!;
        const last = i === envelopes.length - 1;
        ok = peer.bulk.enqueue({
          envelope: env,
          bytes: (env.snapshot_chunk?.byteLength ?? 0) + 256,
          isSnap: last,
          reported: false,
        });
      }
    } else if (bytes > this.messageBytesMax) {
      this.opts.logger.warn({ to: m.to, type: m.type, bytes }, 'message larger than messageBytesMax: drop');
    } else {
      const out: Outgoing = {
        envelope: encodeEnvelope(this.opts.clusterId, m),
        bytes,
        isSnap,
        reported: false,
      };
      const stream = isSnap || m.type === MessageType.App ? peer.bulk : peer.control;
      ok = stream.enqueue(out);
    }
    if (!ok && isSnap) this.host.snapshotStatus(m.to, false);
    return ok;
  }

  private serveStream(
    call: grpc.ServerReadableStream<WireEnvelope, WireAck>,
    callback: grpc.sendUnaryData<WireAck>,
  ): void {
    const log = this.opts.logger;
    let done = false;
    const finish = (err: grpc.ServiceError | null): void => {
      if (done) return;
      done = true;
      this.serverCalls.delete(finish);
      call.removeAllListeners('data');
      if (err === null) callback(null, {});
      else callback(err);
    };
    const refuse = (code: grpc.status, details: string): void => {
      log.warn({ code, details, peer: call.getPeer() }, 'refused a peer stream');
      finish({ code, details, name: 'Error', message: details, metadata: new grpc.Metadata() });
    };
    if (this.stopped) {
      refuse(grpc.status.UNAVAILABLE, 'raft transport stopped');
      return;
    }
    this.serverCalls.add(finish);
    const assembler = new SnapshotAssembler();
    // Headers tell the sender that the stream is established (it starts writing then).
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (env: WireEnvelope) => {
      if (done || this.stopped) return;
      if (env.cluster_id !== this.opts.clusterId) {
        refuse(
          grpc.status.FAILED_PRECONDITION,
          `cluster id mismatch: member ${this.opts.selfId} belongs to cluster ${this.opts.clusterId}, the sender to ${env.cluster_id}`,
        );
        return;
      }
      if (env.to !== this.opts.selfId) {
        refuse(
          grpc.status.FAILED_PRECONDITION,
          `member id mismatch: message addressed to member ${env.to} arrived at member ${this.opts.selfId}`,
        );
        return;
      }
      let m: Message;
      try {
        if ((env.chunk_count ?? 0) > 0) {
          const whole = assembler.add(env);
          if (whole === undefined) return;
          m = whole;
        } else {
          m = decodeMessage(env);
        }
      } catch (err) {
        refuse(grpc.status.INVALID_ARGUMENT, `invalid raft message: ${(err as Error).message}`);
        return;
      }
      try {
        this.opts.onMessage(m);
      } catch (err) {
        log.error({ err, from: m.from, type: m.type }, 'onMessage threw');
      }
    });
    call.on('end', () => finish(null));
    call.on('error', () => finish(null));
    call.on('cancelled', () => finish(null));
  }
}
