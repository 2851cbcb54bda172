/**
 * Proves the gRPC peer transport delivers raft messages exactly and in the right lanes:
 * three transports on real loopback servers exchange a message of every wire type (deep
 * equality, bytes included), a 5 MiB snapshot arrives in 1 MiB chunks intact and is
 * acknowledged, oversized snapshots are refused on either side, a heartbeat sent after a
 * burst of large appends overtakes them (shown by arrival order, not by timing), and a peer
 * is reported active once it accepts a stream (a peer that does not listen never is), and a
 * link waiting out a long backoff reconnects as soon as its peer opens a stream to this member.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../cluster/ports.js';
import type { LazyBytes } from '../../src/common/lazy-bytes.js';
import { EntryType, type Message, MessageType } from '../../src/raft/types.js';
import { loadRaftProto } from '../../src/transport/raft-proto.js';
import {
  bytesOf,
  everyWireMessage,
  type Member,
  Members,
  msg,
  sameBytes,
  snapshotOf,
  until,
  withoutSnapshotData,
} from './support.js';

const members = new Members();
afterEach(() => members.close());

const byType = (ms: readonly Message[]): Message[] => [...ms].sort((x, y) => x.type - y.type);

describe('GrpcTransport peer activity', () => {
  it('reports a peer active when it accepts a stream, and never a peer that does not listen', async () => {
    const active: number[] = [];
    const a = members.create(1, { onPeerActive: (id) => active.push(id) });
    const b = members.create(2);
    await a.transport.start();
    await b.transport.start();
    const silent = await freeLoopbackPort(); // nobody listens there
    a.transport.addPeer(3, `http://127.0.0.1:${silent}`);
    a.transport.addPeer(2, `http://127.0.0.1:${b.transport.port}`);
    await until('peer 2 active', () => active.includes(2));
    expect(active.every((id) => id === 2)).toBe(true);
  });

  it('reports a peer down when its accepted stream breaks, and not before', async () => {
    const down: number[] = [];
    const a = members.create(1, { onPeerDown: (id) => down.push(id) });
    const b = members.create(2);
    await a.transport.start();
    await b.transport.start();
    const silent = await freeLoopbackPort(); // a peer that never accepted a stream is never "down"
    a.transport.addPeer(3, `http://127.0.0.1:${silent}`);
    a.transport.addPeer(2, `http://127.0.0.1:${b.transport.port}`);
    a.transport.send([{ ...everyWireMessage(1, 2)[0]! }]);
    await until('the message reaches peer 2', () => b.received.length === 1);
    expect(down).toEqual([]);
    await b.transport.stop();
    await until('peer 2 down', () => down.includes(2));
    expect(down.every((id) => id === 2)).toBe(true);
  });
  it('reconnects to a peer as soon as that peer opens a stream to it, not when its backoff runs out', async () => {
    // A backoff of at least 30 s: only the peer's own stream can bring the link up within the test.
    const slow = { reconnectBackoffInitialMs: 60_000, reconnectBackoffMaxMs: 60_000 };
    const active: number[] = [];
    const a = members.create(1, { ...slow, onPeerActive: (id) => active.push(id) });
    await a.transport.start();
    const port = await freeLoopbackPort(); // b listens here only later
    a.transport.addPeer(2, `http://127.0.0.1:${port}`);
    await until('a waits to retry peer 2', () => a.transport.peerStats(2)?.control.state === 'backoff');
    const b = members.create(2, { listenAddress: `127.0.0.1:${port}` });
    await b.transport.start();
    // b sends nothing: opening its streams to a is what tells a that b is up.
    b.transport.addPeer(1, `http://127.0.0.1:${a.transport.port}`);
    await until('peer 2 active again', () => active.includes(2), 20_000);
    expect(a.transport.peerStats(2)?.control.state).toBe('open');
    a.transport.send([msg(MessageType.HeartbeatResp, 1, 2)]);
    await until('the reply reaches b', () => b.received.length === 1, 20_000);
    expect(b.received[0]?.type).toBe(MessageType.HeartbeatResp);
  });
});

describe('GrpcTransport delivery', () => {
  it('round-trips a message of every wire type exactly between three members', async () => {
    const [a, b, c] = (await members.mesh([1, 2, 3])) as [Member, Member, Member];
    const toB = everyWireMessage(1, 2);
    const toC = everyWireMessage(1, 3);
    const fromB = everyWireMessage(2, 1);
    a.transport.send([...toB, ...toC]);
    b.transport.send(fromB);
    await until(
      'every message',
      () =>
        b.received.length === toB.length &&
        c.received.length === toC.length &&
        a.received.length === fromB.length,
    );
    expect(byType(b.received).map(withoutSnapshotData)).toEqual(byType(toB).map(withoutSnapshotData));
    expect(byType(c.received).map(withoutSnapshotData)).toEqual(byType(toC).map(withoutSnapshotData));
    expect(byType(a.received).map(withoutSnapshotData)).toEqual(byType(fromB).map(withoutSnapshotData));
    for (const [got, sent] of [
      [b.received, toB],
      [a.received, fromB],
    ] as const) {
      const snap = got.find((m) => m.type === MessageType.Snap)!.snapshot!;
      expect(snap.data.constructor).toBe(Uint8Array);
      expect(sameBytes(snap.data, sent.find((m) => m.type === MessageType.Snap)!.snapshot!.data)).toBe(true);
    }
    // Bytes arrive as plain Uint8Arrays; no context stays none, an empty context stays empty.
    const app = b.received.find((m) => m.type === MessageType.App)!;
    expect(app.entries[0]!.data.constructor).toBe(Uint8Array);
    expect(b.received.find((m) => m.type === MessageType.PreVote)!.context).toBeUndefined();
    expect(b.received.find((m) => m.type === MessageType.Vote)!.context).toEqual(new Uint8Array(0));
    await until('snapshot statuses', () => a.snapshotStatus.length === 2 && b.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual(
      expect.arrayContaining([
        { id: 2, ok: true },
        { id: 3, ok: true },
      ]),
    );
    expect(b.snapshotStatus).toEqual([{ id: 1, ok: true }]);
    expect([...a.unreachable, ...b.unreachable, ...c.unreachable]).toEqual([]);
  });

  it('delivers messages of one lane in the order they were sent', async () => {
    const [a, b] = (await members.mesh([1, 2])) as [Member, Member];
    const heartbeats = Array.from({ length: 500 }, (_, i) => msg(MessageType.Heartbeat, 1, 2, { commit: i }));
    const appends = Array.from({ length: 500 }, (_, i) => msg(MessageType.App, 1, 2, { index: i }));
    for (let i = 0; i < 500; i += 50)
      a.transport.send([...heartbeats.slice(i, i + 50), ...appends.slice(i, i + 50)]);
    await until('all', () => b.received.length === 1000);
    const got = b.received;
    expect(got.filter((m) => m.type === MessageType.Heartbeat)).toEqual(heartbeats);
    expect(got.filter((m) => m.type === MessageType.App)).toEqual(appends);
  });

  it('carries a 5 MiB snapshot in 1 MiB chunks, intact, and reports it delivered', async () => {
    const [a, b] = (await members.mesh([1, 2])) as [Member, Member];
    const snapshot = snapshotOf(5 * 1024 * 1024, 11);
    a.transport.send([msg(MessageType.Snap, 1, 2, { snapshot })]);
    await until('snapshot status', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: 2, ok: true }]);
    // The acknowledgement comes after delivery: the snapshot is already there.
    expect(b.received).toHaveLength(1);
    const got = b.received[0]!;
    expect(withoutSnapshotData(got)).toEqual(withoutSnapshotData(msg(MessageType.Snap, 1, 2, { snapshot })));
    expect(got.snapshot!.data.byteLength).toBe(5 * 1024 * 1024);
    expect(sameBytes(got.snapshot!.data, snapshot.data)).toBe(true);
    expect(b.transport.incomingStats()).toMatchObject({ snapshots: 1, snapshotChunks: 5, refusals: 0 });
  });

  it('sends a snapshot whose data is made as it goes: each piece only when the transfer reaches it', async () => {
    const [a, b] = (await members.mesh([1, 2])) as [Member, Member];
    const whole = snapshotOf(3 * 1024 * 1024 + 100, 12).data;
    const pieceBytes = 700 * 1024;
    let made = 0;
    const lazy: LazyBytes = {
      byteLength: whole.byteLength,
      *pieces() {
        for (let at = 0; at < whole.byteLength; at += pieceBytes) {
          made++;
          yield whole.subarray(at, Math.min(whole.byteLength, at + pieceBytes));
        }
      },
    };
    const head = msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(0, 12) });
    a.transport.sendSnapshot(head, lazy);
    // Only what the first 1 MiB chunk needs is made before that chunk is written.
    expect(made).toBe(2);
    await until('snapshot status', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: 2, ok: true }]);
    expect(made).toBe(5);
    const got = b.received[0]!;
    expect(got.snapshot!.metadata).toEqual(head.snapshot!.metadata);
    expect(sameBytes(got.snapshot!.data, whole)).toBe(true);
    // 1 MiB chunks, whatever the pieces: 3 whole ones and the rest.
    expect(b.transport.incomingStats()).toMatchObject({ snapshots: 1, snapshotChunks: 4, refusals: 0 });
  });

  it('refuses to send a snapshot over snapshotBytesMax, and a receiver refuses one over its own', async () => {
    const a = members.create(1, { snapshotBytesMax: 1024 * 1024 });
    const b = members.create(2, { snapshotBytesMax: 512 * 1024 });
    const c = members.create(3);
    for (const m of [a, b, c]) await m.transport.start();
    a.transport.addPeer(2, `127.0.0.1:${b.transport.port}`);
    c.transport.addPeer(2, `127.0.0.1:${b.transport.port}`);
    // The sender's own limit: nothing leaves.
    a.transport.send([msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(1024 * 1024 + 1) })]);
    await until('sender refusal', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: 2, ok: false }]);
    // The receiver's limit: refused on the first chunk, before the data arrives.
    c.transport.send([msg(MessageType.Snap, 3, 2, { snapshot: snapshotOf(600 * 1024) })]);
    await until('receiver refusal', () => c.snapshotStatus.length === 1);
    expect(c.snapshotStatus).toEqual([{ id: 2, ok: false }]);
    expect(b.received).toEqual([]);
    expect(b.transport.incomingStats()).toMatchObject({ snapshots: 0, refusals: 1 });
    // A snapshot within both limits still gets through.
    c.transport.send([msg(MessageType.Snap, 3, 2, { snapshot: snapshotOf(100 * 1024) })]);
    await until('delivery', () => c.snapshotStatus.length === 2);
    expect(c.snapshotStatus[1]).toEqual({ id: 2, ok: true });
    expect(b.received).toHaveLength(1);
  });

  it('delivers a heartbeat sent after a burst of large appends before the last of them', async () => {
    const [a, b] = (await members.mesh([1, 2])) as [Member, Member];
    // Both streams established first.
    a.transport.send([msg(MessageType.Heartbeat, 1, 2), msg(MessageType.App, 1, 2, { index: 0 })]);
    await until('warm-up', () => b.received.length === 2);
    b.received.length = 0;
    const payload = bytesOf(128 * 1024, 9);
    const appends = Array.from({ length: 200 }, (_, i) =>
      msg(MessageType.App, 1, 2, {
        index: i + 1,
        entries: [{ term: 3, index: i + 1, type: EntryType.Normal, data: payload }],
      }),
    );
    a.transport.send(appends);
    // The heartbeat leaves while most of the 25 MiB of appends still wait in their queue.
    expect(a.transport.peerStats(2)!.append.heldMessages).toBeGreaterThan(100);
    a.transport.send([msg(MessageType.Heartbeat, 1, 2, { commit: 1234 })]);
    await until('burst', () => b.received.length === 201);
    const got = b.received;
    const heartbeatAt = got.findIndex((m) => m.type === MessageType.Heartbeat);
    const lastAppendAt = got.findIndex((m) => m.type === MessageType.App && m.index === 200);
    expect(heartbeatAt).toBeLessThan(lastAppendAt);
    expect(got.filter((m) => m.type === MessageType.App).map((m) => m.index)).toEqual(
      appends.map((m) => m.index),
    );
    expect(a.unreachable).toEqual([]);
  });

  it('serves on a grpc.Server the node owns (registerOn) as well as on its own (start)', async () => {
    const a = members.create(1);
    const b = members.create(2, {}, false);
    await a.transport.start();
    await b.transport.start();
    expect(b.transport.port).toBeUndefined();
    const server = new grpc.Server();
    b.transport.registerOn(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    try {
      a.transport.addPeer(2, `127.0.0.1:${port}`);
      a.transport.send([msg(MessageType.Heartbeat, 1, 2)]);
      await until('delivery', () => b.received.length === 1);
    } finally {
      await b.transport.stop();
      server.forceShutdown();
    }
  });

  it('knows the RaftPeer service with both calls', () => {
    expect(Object.keys(loadRaftProto().service).sort()).toEqual(['Snapshot', 'Stream']);
  });
});
