/**
 * Snapshots cross the wire in chunks: the first envelope carries the Snap message (its
 * data emptied) and every envelope one chunk of the data, written one at a time on the
 * bulk stream, which waits for the stream to drain between writes (flow control). The
 * receiver reassembles them in order, within a size bound, and checks a CRC over the whole.
 */
import { crc32 } from '../common/crc32.js';
import type { Message } from '../raft/types.js';
import { decodeMessage, encodeEnvelope } from './raft-codec.js';
import type { WireEnvelope } from './raft-proto.js';

/** Bytes of snapshot data per chunk. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/** Upper bound on a reassembled snapshot, so a peer cannot make us hold unbounded memory. */
export const SNAPSHOT_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024;

/** Splits a Snap message into envelopes of at most SNAPSHOT_CHUNK_BYTES of data each. */
export function chunkSnapshot(clusterId: number, m: Message): WireEnvelope[] {
  const snap = m.snapshot!;
  const data = snap.data;
  const count = Math.max(1, Math.ceil(data.byteLength / SNAPSHOT_CHUNK_BYTES));
  const crc = crc32(data);
  const head = encodeEnvelope(clusterId, {
    ...m,
    snapshot: { metadata: snap.metadata, data: new Uint8Array(0) },
  });
  const out: WireEnvelope[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = data.subarray(
      i * SNAPSHOT_CHUNK_BYTES,
      Math.min(data.byteLength, (i + 1) * SNAPSHOT_CHUNK_BYTES),
    );
    const base = i === 0 ? head : { cluster_id: clusterId, from: m.from, to: m.to, message: null };
    out.push({ ...base, snapshot_chunk: chunk, chunk_index: i, chunk_count: count, snapshot_crc: crc });
  }
  return out;
}

/** Reassembles the chunked snapshots of one incoming stream. */
export class SnapshotAssembler {
  private head: Message | undefined;
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private expected = 0;
  private crc = 0;

  constructor(private readonly snapshotBytesMax: number = SNAPSHOT_BYTES_MAX_DEFAULT) {}

  /** Takes one chunk envelope; returns the whole Snap message once its last chunk arrived. Throws on a protocol error. */
  add(env: WireEnvelope): Message | undefined {
    const index = env.chunk_index ?? 0;
    const count = env.chunk_count ?? 0;
    const chunk = env.snapshot_chunk ?? new Uint8Array(0);
    if (index === 0) {
      this.head = decodeMessage(env);
      if (!this.head.snapshot) throw new Error('first snapshot chunk carries no Snap message');
      this.chunks = [];
      this.bytes = 0;
      this.expected = count;
      this.crc = env.snapshot_crc ?? 0;
    } else if (this.head === undefined || index !== this.chunks.length || count !== this.expected) {
      throw new Error(`snapshot chunk ${index} of ${count} out of order`);
    }
    this.bytes += chunk.byteLength;
    if (this.bytes > this.snapshotBytesMax)
      throw new Error(`snapshot larger than ${this.snapshotBytesMax} bytes`);
    this.chunks.push(chunk);
    if (this.chunks.length < this.expected) return undefined;
    const data = new Uint8Array(this.bytes);
    let off = 0;
    for (const c of this.chunks) {
      data.set(c, off);
      off += c.byteLength;
    }
    const head = this.head!;
    this.head = undefined;
    this.chunks = [];
    if (crc32(data) !== this.crc) throw new Error('snapshot data fails its checksum');
    return { ...head, snapshot: { metadata: head.snapshot!.metadata, data } };
  }
}
