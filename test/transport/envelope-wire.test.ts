/**
 * Proves the hand-written Stream codec speaks the same protobuf as proto-loader's, both ways:
 * every wire message type encoded here decodes through proto-loader's deserializer to what
 * proto-loader's own round trip gives (and back to the raft message), frames proto-loader
 * serializes decode here to its own decoding, safe integers stay exact at 2^53 - 1 while
 * larger ones come out unsafe (so raft-codec refuses them), unknown fields and unpacked ids
 * are read, a truncated frame, an over-long varint and an unknown wire type are refused, and
 * damaged frames either decode or throw an Error.
 */
import { describe, expect, test } from 'vitest';
import { MessageType } from '../../src/raft/types.js';
import { decodeEnvelopeFrame, encodeEnvelopeFrame } from '../../src/transport/envelope-wire.js';
import { decodeMessage, encodeEnvelope } from '../../src/transport/raft-codec.js';
import { loadRaftProto, type WireEnvelope } from '../../src/transport/raft-proto.js';
import { everyWireMessage, msg } from './support.js';

const CLUSTER = 42;

/** proto-loader's own codec of the Stream call, as a member of an earlier version uses it. */
function protoLoader(): { encode: (e: WireEnvelope) => Buffer; decode: (b: Buffer) => WireEnvelope } {
  const stream = loadRaftProto().Client.service.Stream!;
  return {
    encode: stream.requestSerialize as (e: WireEnvelope) => Buffer,
    decode: stream.requestDeserialize as (b: Buffer) => WireEnvelope,
  };
}

/** Wire shapes compared by value, bytes as plain arrays. */
function plain(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x) =>
      x instanceof Uint8Array || (x && x.type === 'Buffer') ? [...(x.data ?? x)] : x,
    ),
  );
}

/** A varint, for frames built by hand. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

describe('envelope wire codec', () => {
  test('frames encoded here decode through proto-loader as its own round trip does, and back to the message', () => {
    const pl = protoLoader();
    for (const m of everyWireMessage(1, 2)) {
      const frame = encodeEnvelopeFrame(CLUSTER, m);
      const theirs = pl.decode(frame);
      expect(plain(theirs)).toEqual(plain(pl.decode(pl.encode(encodeEnvelope(CLUSTER, m)))));
      expect(plain(decodeEnvelopeFrame(frame))).toEqual(plain(theirs));
      const { snapshot, ...rest } = m;
      const decoded = decodeMessage(decodeEnvelopeFrame(frame).message, 1, 2);
      expect(decoded.message).toEqual(rest);
      expect(decoded.snapshotMetadata).toEqual(snapshot?.metadata);
    }
  });

  test('frames proto-loader serializes decode here to its own decoding', () => {
    const pl = protoLoader();
    for (const m of everyWireMessage(7, 9)) {
      const frame = pl.encode(encodeEnvelope(CLUSTER, m));
      expect(plain(decodeEnvelopeFrame(frame))).toEqual(plain(pl.decode(frame)));
    }
  });

  test('keeps 2^53 - 1 exact and decodes anything larger as unsafe', () => {
    const m = msg(MessageType.App, 1, 2, { term: Number.MAX_SAFE_INTEGER, commit: 2 ** 60 });
    const env = decodeEnvelopeFrame(encodeEnvelopeFrame(CLUSTER, m));
    expect(env.message!.term).toBe(Number.MAX_SAFE_INTEGER);
    expect(Number.isSafeInteger(env.message!.commit)).toBe(false);
    // 2^64 - 1, the largest uint64: ten bytes.
    const max = Buffer.from([0x08, ...Array(9).fill(0xff), 0x01]);
    expect(Number.isSafeInteger(decodeEnvelopeFrame(max).cluster_id)).toBe(false);
  });

  test('skips unknown fields, reads unpacked ids and refuses a truncated frame', () => {
    const confState = [0x08, ...varint(5), 0x08, ...varint(6), 0x28, 0x01]; // voters 5, 6 unpacked; auto_leave
    const snap = [0x08, ...varint(30), 0x1a, confState.length, ...confState];
    const message = [0x08, MessageType.Snap, 0x10, 2, 0x18, 1, 0x4a, snap.length, ...snap, 0xa0, 0x06, 0x07]; // field 100: unknown
    const frame = Buffer.from([
      0x08,
      CLUSTER,
      0x10,
      1,
      0x18,
      2,
      0x22,
      message.length,
      ...message,
      0x2d,
      1,
      2,
      3,
      4,
    ]);
    const env = decodeEnvelopeFrame(frame);
    expect(env.cluster_id).toBe(CLUSTER);
    expect(env.message!.snapshot!.index).toBe(30);
    expect(env.message!.snapshot!.conf_state).toEqual({
      voters: [5, 6],
      learners: [],
      voters_outgoing: [],
      learners_next: [],
      auto_leave: true,
    });
    expect(() => decodeEnvelopeFrame(frame.subarray(0, frame.length - 6))).toThrow(
      /beyond the frame|truncated/,
    );
  });

  test('refuses over-long varints and unknown wire types, and any damaged frame either decodes or throws an Error', () => {
    expect(() => decodeEnvelopeFrame(Buffer.from([0x08, ...Array(10).fill(0xff), 0x01]))).toThrow(
      /longer than 10/,
    );
    for (const wireType of [3, 4, 6, 7])
      expect(() => decodeEnvelopeFrame(Buffer.from([(9 << 3) | wireType, 0]))).toThrow(/wire type/);
    // Seeded damage to real frames: a flipped byte, a cut, garbage appended. Nothing hangs or
    // throws anything but an Error, and what decodes is still checked by raft-codec after.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const frames = everyWireMessage(1, 2).map((m) => encodeEnvelopeFrame(CLUSTER, m));
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const frame = Buffer.from(frames[random(frames.length)]!);
      let damaged: Buffer;
      if (i % 3 === 0) {
        frame[random(frame.length)] = random(256);
        damaged = frame;
      } else if (i % 3 === 1) damaged = frame.subarray(0, random(frame.length));
      else damaged = Buffer.concat([frame, Buffer.from([random(256), random(256), random(256)])]);
      try {
        decodeEnvelopeFrame(damaged);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
