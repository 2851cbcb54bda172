/**
 * Sends snapshots to one peer, one at a time, each on its own RaftPeer.Snapshot call: chunks
 * are made and written one after another, each only once the previous one was taken by the
 * connection (flow control: a slow receiver slows the sender, and the sender holds one chunk
 * beyond the snapshot itself). The peer's reply, sent once it has checked and delivered the
 * whole snapshot, is what "ok" means in the status the sender reports.
 */
import type * as grpc from '@grpc/grpc-js';
import type { LazyBytes } from '../common/lazy-bytes.js';
import type { Logger } from '../common/logger.js';
import type { Message } from '../raft/types.js';
import { loadRaftProto, SNAPSHOT_METHOD, type WireAck } from './raft-proto.js';
import { snapshotChunks } from './snapshot-chunks.js';

/** What a snapshot sender needs: the channel, its limits, and where to report. */
export interface SnapshotSenderOptions {
  readonly client: grpc.Client;
  readonly log: Logger;
  readonly clusterId: number;
  readonly chunkBytes: number;
  /** Larger snapshots are refused before anything is sent. */
  readonly snapshotBytesMax: number;
  /** A transfer that takes longer is abandoned (a stuck peer must not hold the slot forever). */
  readonly timeoutMs: number;
  /** The snapshot arrived whole (true) or did not (false). Called once per send(). */
  readonly onStatus: (ok: boolean) => void;
  /** The transfer failed on the network: the peer is unreachable. */
  readonly onUnreachable: () => void;
}

/** Frames are encoded one at a time right before they are written; the call passes them through. */
function passThrough(frame: Buffer): Buffer {
  return frame;
}

/** One peer's snapshot slot. */
export class SnapshotSender {
  /** Invariant: at most one transfer at a time; this is its call while it runs. */
  private call: grpc.ClientWritableStream<Buffer> | undefined;
  private busy = false;
  private closed = false;

  constructor(private readonly opts: SnapshotSenderOptions) {}

  /** Whether a snapshot is on its way. */
  get sending(): boolean {
    return this.busy;
  }

  /** Starts sending a Snap message with its data (made as it is sent); reports failure at once if it cannot start. */
  send(m: Message, data: LazyBytes): void {
    const bytes = data.byteLength;
    if (this.closed || m.snapshot === undefined) {
      this.opts.onStatus(false);
    } else if (this.busy) {
      this.opts.log.warn({ index: m.snapshot.metadata.index }, 'a snapshot is already on its way: drop');
      this.opts.onStatus(false);
    } else if (bytes > this.opts.snapshotBytesMax) {
      this.opts.log.error(
        { bytes, snapshotBytesMax: this.opts.snapshotBytesMax },
        'snapshot larger than snapshotBytesMax: refused',
      );
      this.opts.onStatus(false);
    } else {
      this.busy = true;
      this.transfer(m, data)
        .catch((err: unknown) => {
          // Only a failure before the outcome was known lands here (encoding, say): report it.
          this.opts.log.error({ err }, 'snapshot transfer failed');
          this.call?.cancel();
          this.opts.onStatus(false);
        })
        .finally(() => {
          this.busy = false;
          this.call = undefined;
        });
    }
  }

  /** Abandons a transfer under way (it reports failure) and refuses later ones. */
  close(): void {
    this.closed = true;
    this.call?.cancel();
  }

  private async transfer(m: Message, data: LazyBytes): Promise<void> {
    const proto = loadRaftProto();
    const startedMs = Date.now();
    let ended = false;
    const outcome = new Promise<grpc.ServiceError | null>((resolve) => {
      this.call = this.opts.client.makeClientStreamRequest<Buffer, WireAck>(
        SNAPSHOT_METHOD,
        passThrough,
        proto.deserializeAck,
        { deadline: startedMs + this.opts.timeoutMs },
        (err) => {
          ended = true;
          resolve(err);
        },
      );
    });
    const call = this.call!;
    // Errors also arrive through the callback; this listener keeps them from being thrown.
    call.on('error', () => {});
    let chunks = 0;
    for (const chunk of snapshotChunks(this.opts.clusterId, m, data, this.opts.chunkBytes)) {
      if (ended || this.closed) break;
      const frame = proto.serializeChunk(chunk);
      // One chunk at a time: the next is made once the connection took this one.
      await Promise.race([new Promise<void>((resolve) => call.write(frame, () => resolve())), outcome]);
      chunks++;
    }
    if (!ended) call.end();
    const err = await outcome;
    const fields = {
      index: m.snapshot?.metadata.index,
      bytes: data.byteLength,
      chunks,
      elapsedMs: Date.now() - startedMs,
    };
    if (err === null) {
      this.opts.log.info(fields, 'snapshot sent');
      this.opts.onStatus(true);
      return;
    }
    this.opts.log.warn({ ...fields, code: err.code, details: err.details }, 'snapshot not delivered');
    if (!this.closed) this.opts.onUnreachable();
    this.opts.onStatus(false);
  }
}
