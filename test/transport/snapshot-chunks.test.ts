/**
 * Proves the snapshot chunk protocol on its own, without a network: a snapshot splits into
 * chunks of at most the chunk size (metadata and size on the first, a running CRC on each)
 * that reassemble to the identical message, an empty snapshot travels as one chunk, and the
 * assembler refuses chunks out of order, corrupted or surplus data, a short snapshot, a
 * declared size over its bound, and chunks from another cluster or for another member.
 */
import { describe, expect, test } from 'vitest';
import { crc32 } from '../../src/common/crc32.js';
import { concatBytes, eagerBytes, type LazyBytes } from '../../src/common/lazy-bytes.js';
import { type Message, MessageType } from '../../src/raft/types.js';
import type { WireSnapshotChunk } from '../../src/transport/raft-proto.js';
import { PeerRefusal, type RefusalReason } from '../../src/transport/refusal.js';
import { SnapshotAssembler, snapshotChunks } from '../../src/transport/snapshot-chunks.js';
import { msg, sameBytes, snapshotOf, withoutSnapshotData } from './support.js';

const CLUSTER = 7;
const LOCAL = { clusterId: CLUSTER, selfId: 2 };
const MiB = 1024 * 1024;

function snap(bytes: number): Message {
  return msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(bytes) });
}

function refusal(f: () => unknown): RefusalReason | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof PeerRefusal) return err.reason;
    throw err;
  }
  return undefined;
}

/** The chunks of a Snap message whose data is already whole. */
function chunksOf(m: Message, chunkBytes?: number): WireSnapshotChunk[] {
  return [...snapshotChunks(CLUSTER, m, eagerBytes(m.snapshot!.data), chunkBytes)];
}

function assemble(chunks: readonly WireSnapshotChunk[], max?: number): Message {
  const a = new SnapshotAssembler(LOCAL, max);
  for (const c of chunks) a.add(c);
  return a.finish();
}

describe('snapshot chunks', () => {
  test('a 5.5 MiB snapshot travels as six chunks of at most 1 MiB and reassembles identically', () => {
    const m = snap(5.5 * MiB);
    const chunks = chunksOf(m, MiB);
    expect(chunks).toHaveLength(6);
    expect(chunks.every((c) => c.data.byteLength <= MiB)).toBe(true);
    expect(chunks.map((c) => c.offset)).toEqual([0, 1, 2, 3, 4, 5].map((i) => i * MiB));
    expect(chunks[0]!.message).not.toBeNull();
    expect(chunks[0]!.total_bytes).toBe(5.5 * MiB);
    expect(chunks.slice(1).every((c) => c.message === null)).toBe(true);
    expect(chunks.at(-1)!.crc32).toBe(crc32(m.snapshot!.data));
    const whole = assemble(chunks);
    expect(withoutSnapshotData(whole)).toEqual(withoutSnapshotData(m));
    expect(sameBytes(whole.snapshot!.data, m.snapshot!.data)).toBe(true);
  });

  test('data made in uneven pieces travels in chunks of the chunk size and reassembles identically', () => {
    const data = Uint8Array.from({ length: 3210 }, (_, i) => (i * 7) % 256);
    let made = 0;
    const lazy: LazyBytes = concatBytes(
      data.subarray(0, 700),
      {
        byteLength: 1500,
        *pieces() {
          made++;
          yield data.subarray(700, 1000);
          yield data.subarray(1000, 2200);
        },
      },
      data.subarray(2200),
    );
    const m = snap(0);
    const chunks = [...snapshotChunks(CLUSTER, m, lazy, 1000)];
    expect(made).toBe(1);
    expect(chunks.map((c) => c.data.byteLength)).toEqual([1000, 1000, 1000, 210]);
    expect(chunks.map((c) => c.offset)).toEqual([0, 1000, 2000, 3000]);
    expect(chunks[0]!.total_bytes).toBe(3210);
    expect(chunks.at(-1)!.crc32).toBe(crc32(data));
    expect(sameBytes(assemble(chunks).snapshot!.data, data)).toBe(true);
  });

  test('data that makes fewer or more bytes than it announced is a defect, found before it is sent whole', () => {
    const short: LazyBytes = { byteLength: 10, pieces: () => [new Uint8Array(9)] };
    const long: LazyBytes = { byteLength: 10, pieces: () => [new Uint8Array(6), new Uint8Array(6)] };
    expect(() => [...snapshotChunks(CLUSTER, snap(0), short, 4)]).toThrow(/made 9 of the 10 announced/);
    expect(() => [...snapshotChunks(CLUSTER, snap(0), long, 4)]).toThrow(/made more than the 10 announced/);
  });

  test('an empty snapshot travels as one chunk', () => {
    const m = snap(0);
    const chunks = chunksOf(m);
    expect(chunks).toHaveLength(1);
    expect(assemble(chunks)).toEqual(m);
  });

  test('refuses chunks out of order, corrupted, surplus or missing data', () => {
    const chunks = chunksOf(snap(3000), 1000);
    const [c0, c1, c2] = chunks as [WireSnapshotChunk, WireSnapshotChunk, WireSnapshotChunk];
    expect(refusal(() => assemble([c0, c2, c1]))).toBe('INVALID');
    expect(refusal(() => assemble([c1, c0, c2]))).toBe('INVALID');
    expect(refusal(() => assemble([c0, { ...c1, message: c0.message }, c2]))).toBe('INVALID');
    const flipped = { ...c1, data: Uint8Array.from(c1.data, (x, i) => (i === 5 ? x ^ 0x10 : x)) };
    expect(refusal(() => assemble([c0, flipped, c2]))).toBe('CORRUPT');
    expect(refusal(() => assemble([c0, c1]))).toBe('CORRUPT');
    expect(refusal(() => assemble([{ ...c0, total_bytes: 2000 }, c1, c2]))).toBe('CORRUPT');
    expect(refusal(() => new SnapshotAssembler(LOCAL).finish())).toBe('INVALID');
  });

  test('refuses a snapshot over its bound at the first chunk, before its data arrives', () => {
    const chunks = chunksOf(snap(3000), 1000);
    const a = new SnapshotAssembler(LOCAL, 2999);
    expect(refusal(() => a.add(chunks[0]!))).toBe('TOO_LARGE');
    expect(assemble(chunks, 3000).snapshot!.data.byteLength).toBe(3000);
  });

  test('refuses chunks from another cluster, for another member, or without a Snap message', () => {
    const chunks = chunksOf(snap(10));
    expect(refusal(() => assemble(chunks.map((c) => ({ ...c, cluster_id: 8 }))))).toBe('WRONG_CLUSTER');
    expect(refusal(() => assemble(chunksOf({ ...snap(10), to: 3 })))).toBe('WRONG_MEMBER');
    const heartbeat = { ...chunks[0]!, message: { ...chunks[0]!.message!, type: MessageType.Heartbeat } };
    expect(refusal(() => assemble([heartbeat]))).toBe('INVALID');
    expect(refusal(() => assemble([{ ...chunks[0]!, message: null }]))).toBe('INVALID');
  });
});
