/**
 * Proves the snapshot chunking protocol: a snapshot is split into chunks of at most
 * SNAPSHOT_CHUNK_BYTES that reassemble to the identical message; chunks out of order, a
 * corrupted chunk (checksum) and a snapshot over the size bound are refused.
 */
import { describe, expect, test } from 'vitest';
import { type Message, MessageType } from '../../src/raft/types.js';
import {
  chunkSnapshot,
  SNAPSHOT_CHUNK_BYTES,
  SnapshotAssembler,
} from '../../src/transport/snapshot-chunks.js';

function snap(bytes: number): Message {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31) & 0xff;
  return {
    type: MessageType.Snap,
    to: 2,
    from: 1,
    term: 3,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: {
      metadata: {
        index: 99,
        term: 3,
        confState: {
          voters: [1, 2, 3],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
      data,
    },
  };
}

describe('snapshot chunks', () => {
  test('a 5.5 MiB snapshot travels as 6 chunks and reassembles identically', () => {
    const m = snap(5.5 * 1024 * 1024);
    const envs = chunkSnapshot(7, m);
    expect(envs).toHaveLength(6);
    expect(envs.every((e) => (e.snapshot_chunk?.byteLength ?? 0) <= SNAPSHOT_CHUNK_BYTES)).toBe(true);
    const a = new SnapshotAssembler();
    const results = envs.map((e) => a.add(e));
    expect(results.slice(0, 5).every((r) => r === undefined)).toBe(true);
    const whole = results[5]!;
    expect(whole.snapshot!.metadata).toEqual(m.snapshot!.metadata);
    expect(Buffer.compare(Buffer.from(whole.snapshot!.data), Buffer.from(m.snapshot!.data))).toBe(0);
  });

  test('out-of-order chunks, a corrupted chunk and an oversized snapshot are refused', () => {
    const envs = chunkSnapshot(7, snap(3 * 1024 * 1024));
    const a = new SnapshotAssembler();
    a.add(envs[0]!);
    expect(() => a.add(envs[2]!)).toThrow(/out of order/);

    const b = new SnapshotAssembler();
    const bad = { ...envs[1]!, snapshot_chunk: envs[1]!.snapshot_chunk!.slice() };
    bad.snapshot_chunk[0] = bad.snapshot_chunk[0]! ^ 0xff;
    b.add(envs[0]!);
    b.add(bad);
    expect(() => b.add(envs[2]!)).toThrow(/checksum/);

    const c = new SnapshotAssembler(1.5 * 1024 * 1024);
    c.add(envs[0]!);
    expect(() => c.add(envs[1]!)).toThrow(/larger than/);
  });
});
