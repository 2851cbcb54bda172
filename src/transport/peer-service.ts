/**
 * The receiving side of the peer transport: the RaftPeer service's handlers. Every envelope
 * and chunk is checked (cluster, addressee, wire contract, snapshot size and checksum) before
 * raft sees it; a refusal ends the call with a status that says why. Messages of one stream
 * are handed to raft synchronously, in arrival order.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import { type Message, MessageType } from '../raft/types.js';
import { checkAddress, decodeMessage, type LocalAddress } from './raft-codec.js';
import {
  SENDER_METADATA_KEY,
  WIRE_BYTES,
  type WireAck,
  type WireEnvelope,
  type WireSnapshotChunk,
} from './raft-proto.js';
import { MEMBER_REMOVED_MESSAGE, PeerRefusal, RefusalReason } from './refusal.js';
import { SnapshotAssembler } from './snapshot-chunks.js';

/** The gRPC status each refusal reason ends a call with. */
const STATUS_OF: Readonly<Record<RefusalReason, grpc.status>> = {
  WRONG_CLUSTER: grpc.status.FAILED_PRECONDITION,
  WRONG_MEMBER: grpc.status.FAILED_PRECONDITION,
  INVALID: grpc.status.INVALID_ARGUMENT,
  TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  CORRUPT: grpc.status.DATA_LOSS,
  MEMBER_REMOVED: grpc.status.PERMISSION_DENIED,
};

/** What the service needs: who this member is, where messages go, and its bounds. */
export interface PeerServiceOptions {
  readonly local: LocalAddress;
  readonly log: Logger;
  /** Larger incoming snapshots are refused before their data arrives. */
  readonly snapshotBytesMax: number;
  /** Snapshots received at the same time; more are refused (each may hold snapshotBytesMax). */
  readonly incomingSnapshotsMax: number;
  /** Hands a checked message to raft. */
  readonly deliver: (m: Message) => void;
  /** A peer opened a stream to this member (named by the stream's header): it is up. */
  readonly onStreamFrom?: (from: number) => void;
  /** Whether a sender was removed from the cluster: its messages are refused (it then stops itself). */
  readonly isRemoved?: (id: number) => boolean;
}

/** Counts of what arrived, for tests and metrics. */
export interface IncomingStats {
  readonly messages: number;
  readonly snapshots: number;
  readonly snapshotChunks: number;
  readonly refusals: number;
  /** Encoded bytes of the messages each peer sent on its streams (snapshots not counted), by sender id. */
  readonly receivedBytesByPeer: ReadonlyMap<number, number>;
}

/** Most senders whose received bytes are counted (a cluster has a handful; a bound all the same). */
const COUNTED_SENDERS_MAX = 1024;

/** Ends one incoming call: with null for success, or an error status. */
type Finish = (err: grpc.ServiceError | null) => void;

/** The RaftPeer handlers of one member. */
export class PeerService {
  /** Every incoming call still running, so close() can end them. */
  private readonly calls = new Set<Finish>();
  private snapshotsReceiving = 0;
  private closed = false;
  private counts = { messages: 0, snapshots: 0, snapshotChunks: 0, refusals: 0 };
  private readonly receivedBytes = new Map<number, number>();

  constructor(private readonly opts: PeerServiceOptions) {}

  /** The handlers to add to a grpc.Server with the RaftPeer service definition. */
  implementation(): grpc.UntypedServiceImplementation {
    return {
      Stream: (
        call: grpc.ServerReadableStream<WireEnvelope, WireAck>,
        callback: grpc.sendUnaryData<WireAck>,
      ) => this.serveStream(call, callback),
      Snapshot: (
        call: grpc.ServerReadableStream<WireSnapshotChunk, WireAck>,
        callback: grpc.sendUnaryData<WireAck>,
      ) => this.serveSnapshot(call, callback),
    };
  }

  /** What arrived so far. */
  stats(): IncomingStats {
    return { ...this.counts, receivedBytesByPeer: new Map(this.receivedBytes) };
  }

  /** Ends every incoming call with UNAVAILABLE and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const finish of [...this.calls])
      finish(serviceError(grpc.status.UNAVAILABLE, 'raft transport stopped'));
    this.calls.clear();
  }

  private serveStream(
    call: grpc.ServerReadableStream<WireEnvelope, WireAck>,
    callback: grpc.sendUnaryData<WireAck>,
  ): void {
    const finish = this.track(call, callback);
    if (finish === undefined) return;
    // Headers tell the sender the stream is established; it starts writing then.
    call.sendMetadata(new grpc.Metadata());
    const sender = Number(call.metadata.get(SENDER_METADATA_KEY)[0]);
    if (Number.isSafeInteger(sender) && sender > 0) this.opts.onStreamFrom?.(sender);
    call.on('data', (env: WireEnvelope) => {
      let m: Message;
      try {
        checkAddress(env, this.opts.local);
        if (this.opts.isRemoved?.(env.from as number)) {
          throw new PeerRefusal(RefusalReason.MEMBER_REMOVED, MEMBER_REMOVED_MESSAGE);
        }
        m = decodeMessage(env.message, env.from, env.to).message;
        if (m.type === MessageType.Snap) {
          throw new PeerRefusal(RefusalReason.INVALID, 'Snap travels on the Snapshot call');
        }
      } catch (err) {
        this.refuse(call, finish, err);
        return;
      }
      this.counts.messages++;
      this.countReceived(env);
      this.opts.deliver(m);
    });
    call.on('end', () => finish(null));
  }

  private serveSnapshot(
    call: grpc.ServerReadableStream<WireSnapshotChunk, WireAck>,
    callback: grpc.sendUnaryData<WireAck>,
  ): void {
    if (!this.closed && this.snapshotsReceiving >= this.opts.incomingSnapshotsMax) {
      this.counts.refusals++;
      this.opts.log.warn({ receiving: this.snapshotsReceiving }, 'too many snapshots at once: refused');
      callback(serviceError(grpc.status.RESOURCE_EXHAUSTED, 'too many snapshots being received'));
      return;
    }
    const finish = this.track(call, callback, () => this.snapshotsReceiving--);
    if (finish === undefined) return;
    this.snapshotsReceiving++;
    const assembler = new SnapshotAssembler(this.opts.local, this.opts.snapshotBytesMax);
    call.on('data', (chunk: WireSnapshotChunk) => {
      try {
        assembler.add(chunk);
      } catch (err) {
        this.refuse(call, finish, err);
        return;
      }
      this.counts.snapshotChunks++;
    });
    call.on('end', () => {
      let m: Message;
      try {
        m = assembler.finish();
      } catch (err) {
        this.refuse(call, finish, err);
        return;
      }
      this.counts.snapshots++;
      this.opts.log.info(
        { from: m.from, index: m.snapshot?.metadata.index, bytes: m.snapshot?.data.byteLength },
        'snapshot received',
      );
      this.opts.deliver(m);
      finish(null);
    });
  }

  private countReceived(env: WireEnvelope): void {
    const bytes = (env as unknown as { [WIRE_BYTES]?: number })[WIRE_BYTES];
    if (bytes === undefined) return;
    const from = env.from as number;
    const seen = this.receivedBytes.get(from);
    if (seen === undefined && this.receivedBytes.size >= COUNTED_SENDERS_MAX) return;
    this.receivedBytes.set(from, (seen ?? 0) + bytes);
  }

  /**
   * Registers an incoming call so close() can end it, and returns the one way to end it
   * (at most once; `onFinish` runs then). Undefined, and the call refused, when closed.
   */
  private track<Req>(
    call: grpc.ServerReadableStream<Req, WireAck>,
    callback: grpc.sendUnaryData<WireAck>,
    onFinish?: () => void,
  ): Finish | undefined {
    if (this.closed) {
      callback(serviceError(grpc.status.UNAVAILABLE, 'raft transport stopped'));
      return undefined;
    }
    let finished = false;
    const finish: Finish = (err) => {
      if (finished) return;
      finished = true;
      this.calls.delete(finish);
      // Nothing more of this call reaches raft.
      call.removeAllListeners('data');
      call.removeAllListeners('end');
      onFinish?.();
      if (err === null) callback(null, {});
      else callback(err);
    };
    this.calls.add(finish);
    // A call the sender abandoned ends here; what arrived of a snapshot is dropped.
    call.on('cancelled', () => finish(null));
    call.on('error', () => finish(null));
    return finish;
  }

  private refuse<Req>(call: grpc.ServerReadableStream<Req, WireAck>, finish: Finish, err: unknown): void {
    this.counts.refusals++;
    const code = err instanceof PeerRefusal ? STATUS_OF[err.reason] : grpc.status.INTERNAL;
    const details = err instanceof Error ? err.message : String(err);
    this.opts.log.warn({ code, details, peer: call.getPeer() }, 'refused a peer request');
    finish(serviceError(code, details));
  }
}

function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}
