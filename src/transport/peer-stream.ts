/**
 * One long-lived RaftPeer.Stream call to a peer, for one lane: a bounded queue of encoded
 * messages in front of it, gRPC backpressure respected (a write that returns false waits
 * for 'drain' while later messages queue within the bound), and reconnection with backoff
 * when the call fails. While the call is down, messages are refused at once: raft learns the
 * peer is unreachable and probes it later (thesis 3.5), instead of queued messages going stale.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import type { NodeId } from '../raft/types.js';
import type { Backoff } from './backoff.js';
import { loadRaftProto, SENDER_METADATA_KEY, STREAM_METHOD, type WireAck } from './raft-proto.js';

/** Bounds on what one stream holds: queued plus written-but-not-flushed messages. */
export interface StreamBounds {
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
  /** A call not established within this long is abandoned and retried. */
  readonly connectTimeoutMs: number;
}

/** Where a stream stands: establishing its call, carrying messages, waiting to retry, or closed for good. */
export type StreamState = 'connecting' | 'open' | 'backoff' | 'closed';

/** What a stream holds right now, for tests and metrics. */
export interface StreamStats {
  readonly state: StreamState;
  /** Messages queued or written but not yet flushed. Invariant: <= queueMessagesMax. */
  readonly heldMessages: number;
  /** Their encoded bytes. Invariant: <= queueBytesMax. */
  readonly heldBytes: number;
  /** Encoded bytes the call accepted since the stream was made (etcd's peer_sent_bytes_total). */
  readonly sentBytes: number;
}

/** What a stream needs: the channel, where to log, its bounds and what to do when messages are lost. */
export interface PeerStreamOptions {
  readonly client: grpc.Client;
  /** This member, named in the header of every call. */
  readonly senderId: NodeId;
  readonly log: Logger;
  readonly bounds: StreamBounds;
  readonly backoff: Backoff;
  /** The call failed while it held messages: they are lost. */
  readonly onLost: () => void;
  /** The peer refused the stream because this member was removed from the cluster. */
  readonly onRemoved?: () => void;
  /** The peer accepted the stream: it is up and reachable. */
  readonly onOpen?: () => void;
  /** A stream the peer had accepted ended (its connection broke, or the peer went away). */
  readonly onDown?: () => void;
}

/** Frames are encoded by the transport before they are queued (exact byte bounds); the call passes them through. */
function passThrough(frame: Buffer): Buffer {
  return frame;
}

/** One lane's long-lived stream to a peer. */
export class PeerStream {
  private state: StreamState = 'connecting';
  private call: grpc.ClientWritableStream<Buffer> | undefined;
  /** Invariant: queue[queueHead..] are the frames not yet handed to call.write, oldest first. */
  private queue: (Buffer | undefined)[] = [];
  private queueHead = 0;
  /** Frames handed to call.write whose write callback has not fired. */
  private readonly inFlight = new Set<Buffer>();
  /** Invariant: the bytes of the queued and in-flight frames. */
  private heldBytes = 0;
  private waitingForDrain = false;
  /** Encoded bytes of the frames whose write completed. */
  private sentBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Whether the call was open since the last failure (a repeated failure logs quietly). */
  private wasOpen = false;

  constructor(private readonly opts: PeerStreamOptions) {
    this.openCall();
  }

  /** Queues an encoded message; false if it was refused (stream down, or the bound reached). */
  enqueue(frame: Buffer): boolean {
    if (this.state === 'backoff' || this.state === 'closed') return false;
    const { queueMessagesMax, queueBytesMax } = this.opts.bounds;
    if (this.heldCount() >= queueMessagesMax || this.heldBytes + frame.byteLength > queueBytesMax) {
      this.opts.log.debug(
        { held: this.heldCount(), heldBytes: this.heldBytes, frameBytes: frame.byteLength },
        'stream queue full: drop',
      );
      return false;
    }
    this.queue.push(frame);
    this.heldBytes += frame.byteLength;
    this.pump();
    return true;
  }

  /** What the stream holds now. */
  stats(): StreamStats {
    return {
      state: this.state,
      heldMessages: this.heldCount(),
      heldBytes: this.heldBytes,
      sentBytes: this.sentBytes,
    };
  }

  /**
   * The peer just opened a stream to this member, so it is up: a stream waiting to retry
   * tries now, with a fresh backoff, and waits for the connection instead of failing fast.
   * Without this, a member that starts after its peers is reached only once their backoff
   * runs out (seconds), and cannot learn who leads meanwhile.
   */
  wake(): void {
    if (this.state !== 'backoff') return;
    this.clearTimer();
    this.opts.backoff.reset();
    this.opts.log.debug({}, 'peer reached this member: reconnecting now');
    this.openCall(true);
  }

  /** Ends the stream for good, dropping what it holds. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimer();
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    this.dropAll();
  }

  private heldCount(): number {
    return this.queue.length - this.queueHead + this.inFlight.size;
  }

  /** Starts a call; one that waits for ready is queued until the connection is up (within connectTimeoutMs). */
  private openCall(waitForReady = false): void {
    this.state = 'connecting';
    const metadata = new grpc.Metadata(waitForReady ? { waitForReady: true } : undefined);
    metadata.set(SENDER_METADATA_KEY, String(this.opts.senderId));
    const call = this.opts.client.makeClientStreamRequest<Buffer, WireAck>(
      STREAM_METHOD,
      passThrough,
      loadRaftProto().deserializeAck,
      metadata,
      (err) => this.onCallEnded(call, err),
    );
    this.call = call;
    // The server sends headers as soon as it accepts the call: from then on writes reach the peer.
    call.on('metadata', () => {
      if (this.call !== call || this.state !== 'connecting') return;
      this.clearTimer();
      this.state = 'open';
      this.wasOpen = true;
      this.opts.backoff.reset();
      this.opts.log.debug({}, 'stream open');
      this.opts.onOpen?.();
      this.pump();
    });
    call.on('drain', () => {
      if (this.call !== call) return;
      this.waitingForDrain = false;
      this.pump();
    });
    // Errors also arrive through the call's callback; this listener keeps them from being thrown.
    call.on('error', () => {});
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.call === call && this.state === 'connecting') call.cancel();
    }, this.opts.bounds.connectTimeoutMs);
    this.timer.unref();
  }

  private pump(): void {
    const call = this.call;
    if (this.state !== 'open' || call === undefined) return;
    while (!this.waitingForDrain && this.queueHead < this.queue.length) {
      const frame = this.queue[this.queueHead]!;
      this.queue[this.queueHead] = undefined;
      this.queueHead++;
      this.inFlight.add(frame);
      const flushed = call.write(frame, () => this.onWritten(frame));
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

  private onWritten(frame: Buffer): void {
    // A frame no longer in flight was already dropped with its failed call.
    if (this.inFlight.delete(frame)) {
      this.heldBytes -= frame.byteLength;
      this.sentBytes += frame.byteLength;
    }
  }

  private onCallEnded(call: grpc.ClientWritableStream<Buffer>, err: grpc.ServiceError | null): void {
    if (this.call !== call || this.state === 'closed') return;
    this.call = undefined;
    this.waitingForDrain = false;
    this.clearTimer();
    const delayMs = this.opts.backoff.nextDelayMs();
    const fields = { code: err?.code, details: err?.details, retryMs: delayMs };
    if (err?.code === grpc.status.PERMISSION_DENIED) {
      this.opts.log.error(fields, 'peer refused the stream: this member was removed from the cluster');
      this.opts.onRemoved?.();
    } else if (err?.code === grpc.status.FAILED_PRECONDITION || err?.code === grpc.status.INVALID_ARGUMENT) {
      this.opts.log.error(fields, 'peer refused the stream');
    } else if (this.wasOpen) {
      this.opts.log.warn(fields, 'stream to peer lost');
      this.opts.onDown?.();
    } else {
      this.opts.log.debug(fields, 'stream to peer failed');
    }
    this.wasOpen = false;
    this.state = 'backoff';
    if (this.dropAll()) this.opts.onLost();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'backoff') this.openCall();
    }, delayMs);
    this.timer.unref();
  }

  /** Forgets every queued and in-flight frame; true if there were any. */
  private dropAll(): boolean {
    const had = this.heldCount() > 0;
    this.inFlight.clear();
    this.queue = [];
    this.queueHead = 0;
    this.heldBytes = 0;
    return had;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
