/**
 * A snapshot crosses the wire as a stream of chunks on its own call (RaftPeer.Snapshot): the
 * first carries the Snap message (metadata only) and the data's size, and every chunk the
 * next bytes of the data with the CRC-32 of the data so far. The sender makes each chunk
 * only when the previous one drained, so it never holds more than the snapshot itself; the
 * receiver checks each chunk as it arrives (address, order, size bound, running CRC) and
 * fills one buffer of the declared size.
 */
import { crc32 } from '../common/crc32.js';
import { chunkedBytes, type LazyBytes } from '../common/lazy-bytes.js';
import { type Message, MessageType, type SnapshotMetadata } from '../raft/types.js';
import { checkAddress, decodeMessage, encodeMessage, type LocalAddress, safeUint } from './raft-codec.js';
import type { WireSnapshotChunk } from './raft-proto.js';
import { PeerRefusal, RefusalReason } from './refusal.js';

/** Bytes of snapshot data per chunk, by default. */
export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 1024 * 1024;

/** Largest snapshot sent or accepted by default, so a peer cannot make a member hold unbounded memory. */
export const SNAPSHOT_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024;

/**
 * Yields the chunks of a Snap message and its data in order, each made when asked for (the
 * data's bytes and the chunk's CRC are made then, so the work is spread over the transfer).
 * Always at least one chunk.
 */
export function* snapshotChunks(
  clusterId: number,
  m: Message,
  data: LazyBytes,
  chunkBytes: number = SNAPSHOT_CHUNK_BYTES_DEFAULT,
): Generator<WireSnapshotChunk> {
  if (m.snapshot === undefined) throw new Error('snapshotChunks: message carries no snapshot');
  let crc = 0;
  let offset = 0;
  const chunk = (piece: Uint8Array): WireSnapshotChunk => {
    crc = crc32(piece, crc);
    const first = offset === 0;
    const out = {
      cluster_id: clusterId,
      from: m.from,
      to: m.to,
      message: first ? encodeMessage(m) : null,
      total_bytes: first ? data.byteLength : 0,
      offset,
      data: piece,
      crc32: crc,
    };
    offset += piece.byteLength;
    return out;
  };
  for (const piece of chunkedBytes(data, chunkBytes)) yield chunk(piece);
  if (offset === 0) yield chunk(new Uint8Array(0));
}

/** Reassembles one incoming snapshot call's chunks into a Snap message. */
export class SnapshotAssembler {
  /** The Snap message of the first chunk (without data) and its metadata. */
  private head: { readonly message: Message; readonly metadata: SnapshotMetadata } | undefined;
  /** Invariant: once the first chunk arrived, data.byteLength is the declared total. */
  private data = new Uint8Array(0);
  /** Invariant: data[0..receivedBytes) is filled and its CRC-32 is crc. */
  private receivedBytes = 0;
  private crc = 0;

  constructor(
    private readonly local: LocalAddress,
    private readonly snapshotBytesMax: number = SNAPSHOT_BYTES_MAX_DEFAULT,
  ) {}

  /** The Snap message's sender, once the first chunk arrived. */
  get from(): number | undefined {
    return this.head?.message.from;
  }

  /** Takes the next chunk; throws a PeerRefusal if it breaks the protocol. */
  add(chunk: WireSnapshotChunk): void {
    checkAddress(chunk, this.local);
    const offset = safeUint(chunk.offset, 'offset');
    const piece = chunk.data instanceof Uint8Array ? chunk.data : new Uint8Array(0);
    if (this.head === undefined) {
      this.begin(chunk, offset);
    } else {
      if (chunk.from !== this.head.message.from) throw invalid('snapshot chunks from two senders');
      if (chunk.message !== null && chunk.message !== undefined) throw invalid('a second snapshot message');
    }
    if (offset !== this.receivedBytes) {
      throw invalid(`snapshot chunk at offset ${offset}, expected ${this.receivedBytes}`);
    }
    if (this.receivedBytes + piece.byteLength > this.data.byteLength) {
      throw corrupt(`snapshot data longer than the declared ${this.data.byteLength} bytes`);
    }
    this.data.set(piece, this.receivedBytes);
    this.receivedBytes += piece.byteLength;
    this.crc = crc32(piece, this.crc);
    if (this.crc !== chunk.crc32) {
      throw corrupt(`snapshot data fails its checksum at offset ${offset}`);
    }
  }

  /** The whole Snap message; throws a PeerRefusal if no chunk or not every byte arrived. */
  finish(): Message {
    if (this.head === undefined) throw invalid('snapshot call without chunks');
    if (this.receivedBytes !== this.data.byteLength) {
      throw corrupt(`snapshot ended at ${this.receivedBytes} of ${this.data.byteLength} bytes`);
    }
    return { ...this.head.message, snapshot: { metadata: this.head.metadata, data: this.data } };
  }

  private begin(chunk: WireSnapshotChunk, offset: number): void {
    if (offset !== 0) throw invalid(`first snapshot chunk at offset ${offset}`);
    const decoded = decodeMessage(chunk.message, chunk.from, chunk.to);
    if (decoded.message.type !== MessageType.Snap || decoded.snapshotMetadata === undefined) {
      throw invalid('the first snapshot chunk carries no Snap message');
    }
    const total = safeUint(chunk.total_bytes, 'total_bytes');
    if (total > this.snapshotBytesMax) {
      throw new PeerRefusal(
        RefusalReason.TOO_LARGE,
        `snapshot of ${total} bytes exceeds this member's limit of ${this.snapshotBytesMax}`,
      );
    }
    this.data = new Uint8Array(total);
    this.head = { message: decoded.message, metadata: decoded.snapshotMetadata };
  }
}

function invalid(message: string): PeerRefusal {
  return new PeerRefusal(RefusalReason.INVALID, message);
}

function corrupt(message: string): PeerRefusal {
  return new PeerRefusal(RefusalReason.CORRUPT, message);
}
