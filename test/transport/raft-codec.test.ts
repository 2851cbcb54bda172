/**
 * Proves the wire codec keeps the raft contract: every wire message type survives encoding,
 * the real protobuf serializer and decoding with deep equality (bytes, contexts and safe
 * integers up to 2^53 - 1 included; a snapshot keeps its metadata and leaves its data to the
 * chunks), and decoding refuses integers at or above 2^53, local and unknown message types,
 * unknown entry types, a mismatched or zero address, and snapshot metadata on the wrong type.
 */
import { describe, expect, test } from 'vitest';
import { MessageType } from '../../src/raft/types.js';
import { checkAddress, decodeMessage, encodeEnvelope } from '../../src/transport/raft-codec.js';
import { loadRaftProto, type WireEnvelope, type WireMessage } from '../../src/transport/raft-proto.js';
import { PeerRefusal, type RefusalReason } from '../../src/transport/refusal.js';
import { everyWireMessage, msg } from './support.js';

const CLUSTER = 42;

/** Through the real serializer and back, as a peer would see it. */
function overTheWire(env: object): WireEnvelope {
  const { service } = loadRaftProto();
  return service.Stream!.requestDeserialize(
    (service.Stream!.requestSerialize as (e: object) => Buffer)(env),
  ) as WireEnvelope;
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

describe('raft codec', () => {
  test('every wire message type round-trips exactly; a snapshot leaves its data behind', () => {
    const sent = everyWireMessage(1, 2);
    expect(new Set(sent.map((m) => m.type)).size).toBe(14);
    for (const m of sent) {
      const env = overTheWire(encodeEnvelope(CLUSTER, m));
      checkAddress(env, { clusterId: CLUSTER, selfId: 2 });
      const { message, snapshotMetadata } = decodeMessage(env.message, env.from, env.to);
      const { snapshot, ...rest } = m;
      expect(message).toEqual(rest);
      expect(snapshotMetadata).toEqual(snapshot?.metadata);
    }
  });

  test('refuses integers outside the safe range, wherever they are', () => {
    const base = encodeEnvelope(CLUSTER, msg(MessageType.Snap, 1, 2, { snapshot: everySnap() }));
    const w = base.message!;
    const variants: Array<Partial<WireMessage>> = [
      { term: 2 ** 53 },
      { log_term: 2 ** 60 },
      { index: 2 ** 64 - 1 },
      { commit: 2 ** 53 + 2 },
      { reject_hint: 2 ** 53 },
      { entries: [{ term: 2 ** 53, index: 1, type: 0, data: new Uint8Array(0) }] },
      { entries: [{ term: 1, index: 2 ** 53, type: 0, data: new Uint8Array(0) }] },
      { snapshot: { ...w.snapshot!, index: 2 ** 53 } },
      { snapshot: { ...w.snapshot!, conf_state: { ...w.snapshot!.conf_state!, voters: [1, 2 ** 53] } } },
      { snapshot: { ...w.snapshot!, conf_state: { ...w.snapshot!.conf_state!, learners_next: [2 ** 55] } } },
    ];
    for (const v of variants) {
      const env = overTheWire({ ...base, message: { ...w, ...v } });
      expect(
        refusal(() => decodeMessage(env.message, env.from, env.to)),
        JSON.stringify(v),
      ).toBe('INVALID');
    }
    const good = overTheWire({ ...base, message: { ...w, term: 2 ** 53 - 1 } });
    expect(decodeMessage(good.message, 1, 2).message.term).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('refuses local, unknown and mis-shaped messages', () => {
    const w = encodeEnvelope(CLUSTER, msg(MessageType.Heartbeat, 1, 2)).message!;
    const decode =
      (v: Partial<WireMessage>, from = 1, to = 2) =>
      () => {
        const env = overTheWire({ cluster_id: CLUSTER, from, to, message: { ...w, ...v } });
        return decodeMessage(env.message, from, to);
      };
    for (const type of [
      MessageType.Hup,
      MessageType.Beat,
      MessageType.Unreachable,
      MessageType.SnapStatus,
      12,
      19,
      99,
    ]) {
      expect(refusal(decode({ type })), `type ${type}`).toBe('INVALID');
    }
    expect(refusal(decode({ entries: [{ term: 1, index: 1, type: 2, data: new Uint8Array(0) }] }))).toBe(
      'INVALID',
    );
    expect(refusal(decode({ from: 3 }))).toBe('INVALID');
    expect(refusal(decode({ to: 3 }))).toBe('INVALID');
    expect(refusal(decode({ type: MessageType.Snap }))).toBe('INVALID');
    expect(refusal(decode({ snapshot: { index: 1, term: 1, conf_state: null } }))).toBe('INVALID');
    expect(refusal(() => decodeMessage(null, 1, 2))).toBe('INVALID');
    expect(refusal(decode({}))).toBeUndefined();
  });

  test('checks the address: cluster, addressee, a non-zero sender', () => {
    const local = { clusterId: CLUSTER, selfId: 2 };
    expect(refusal(() => checkAddress({ cluster_id: CLUSTER + 1, from: 1, to: 2 }, local))).toBe(
      'WRONG_CLUSTER',
    );
    expect(refusal(() => checkAddress({ cluster_id: CLUSTER, from: 1, to: 3 }, local))).toBe('WRONG_MEMBER');
    expect(refusal(() => checkAddress({ cluster_id: CLUSTER, from: 0, to: 2 }, local))).toBe('INVALID');
    expect(refusal(() => checkAddress({ cluster_id: CLUSTER, from: 2 ** 53, to: 2 }, local))).toBe('INVALID');
    expect(refusal(() => checkAddress({ cluster_id: CLUSTER, from: 1, to: 2 }, local))).toBeUndefined();
  });
});

function everySnap() {
  return everyWireMessage(1, 2).find((m) => m.type === MessageType.Snap)!.snapshot!;
}
