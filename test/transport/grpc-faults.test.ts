/**
 * Proves the gRPC peer transport survives a bad network and bad peers without unbounded
 * memory or lost reports: a down peer is reported unreachable and gets messages again once
 * it is up; requests from another cluster, to another member or off the wire contract are
 * refused with the right status; queues stay within their bounds against a dead peer and a
 * peer that stops reading; snapshots that cannot complete report failure; and stop() leaves
 * no socket behind. Real servers on 127.0.0.1; every wait polls with a generous deadline.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { eagerBytes } from '../../src/common/lazy-bytes.js';
import { EntryType, MessageType } from '../../src/raft/types.js';
import { loadRaftProto, type WireEnvelope, type WireSnapshotChunk } from '../../src/transport/raft-proto.js';
import { snapshotChunks } from '../../src/transport/snapshot-chunks.js';
import { freePort } from '../support/ports.js';
import { bytesOf, CLUSTER, type Member, Members, msg, snapshotOf, until } from './support.js';

const members = new Members();
afterEach(() => members.close());

describe('GrpcTransport under faults', () => {
  it('hands back a message it could not send to a down peer (a forwarded proposal among them)', async () => {
    const port = await freePort();
    const dropped: number[] = [];
    const a = members.create(1, { onDropped: (m) => dropped.push(m.type) });
    await a.transport.start();
    a.transport.addPeer(2, `http://127.0.0.1:${port}`);
    await until('the proposal handed back', () => {
      a.transport.send([
        msg(MessageType.Prop, 1, 2, {
          entries: [{ index: 0, term: 0, type: EntryType.Normal, data: bytesOf(16, 1) }],
        }),
      ]);
      return dropped.includes(MessageType.Prop);
    });
    expect(a.unreachable).toContain(2);
  });

  it('reports a down peer unreachable, and delivers again once it is up', async () => {
    const port = await freePort();
    const a = members.create(1);
    await a.transport.start();
    a.transport.addPeer(2, `http://127.0.0.1:${port}`);
    await until('unreachable and a failed snapshot', () => {
      a.transport.send([
        msg(MessageType.Heartbeat, 1, 2),
        msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(10) }),
      ]);
      return a.unreachable.includes(2) && a.snapshotStatus.some((s) => s.id === 2 && !s.ok);
    });
    const b = members.create(2, { listenAddress: `127.0.0.1:${port}` });
    await b.transport.start();
    await until('delivery after the peer came up', () => {
      a.transport.send([msg(MessageType.Heartbeat, 1, 2, { commit: 77 })]);
      return b.received.some((m) => m.commit === 77);
    });
    expect(b.received.every((m) => m.type === MessageType.Heartbeat)).toBe(true);
  });

  it('refuses a stream from another cluster, and its sender sees the peer as unreachable', async () => {
    const a = members.create(1, { clusterId: CLUSTER + 1 });
    const b = members.create(2);
    await b.transport.start();
    const port = b.transport.port!;
    const err = await members.rawStream(port, [{ cluster_id: CLUSTER + 1, from: 1, to: 2, message: null }]);
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err?.details).toMatch(/cluster id mismatch/);
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    await until('unreachable', () => {
      a.transport.send([msg(MessageType.Heartbeat, 1, 2)]);
      return a.unreachable.includes(2);
    });
    expect(b.received).toEqual([]);
    expect(b.transport.incomingStats().refusals).toBeGreaterThan(1);
  });

  it('refuses requests for another member and requests that break the wire contract', async () => {
    const b = members.create(2);
    await b.transport.start();
    const port = b.transport.port!;
    const base = { type: MessageType.Heartbeat, from: 1, to: 2, entries: [], has_context: false };
    const env = (message: object, to = 2, from = 1): object => ({ cluster_id: CLUSTER, from, to, message });
    const code = async (e: object) => (await members.rawStream(port, [e]))?.code;
    expect(await code(env({ ...base, to: 3 }, 3))).toBe(grpc.status.FAILED_PRECONDITION);
    const unsafe = await members.rawStream(port, [env({ ...base, term: 2 ** 60 })]);
    expect(unsafe?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(unsafe?.details).toMatch(/term/);
    expect(await code(env({ ...base, index: 2 ** 53 }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await code(env({ ...base, type: 99 }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await code(env({ ...base, type: MessageType.Hup }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await code(env({ ...base, from: 0 }, 2, 0))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await code(env({ ...base, from: 5 }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await code(env(null as unknown as object))).toBe(grpc.status.INVALID_ARGUMENT);
    const snapOnStream = { ...base, type: MessageType.Snap, snapshot: { index: 1, term: 1, conf_state: {} } };
    expect(await code(env(snapOnStream))).toBe(grpc.status.INVALID_ARGUMENT);
    // A good message on a fresh stream still gets through.
    expect(await members.rawStream(port, [env(base)])).toBeNull();
    expect(b.received).toHaveLength(1);

    // And on the Snapshot call: a corrupted chunk, a short snapshot, another cluster.
    const chunks = [
      ...snapshotChunks(
        CLUSTER,
        msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(0) }),
        eagerBytes(new Uint8Array(3000)),
        1000,
      ),
    ];
    const corrupted: WireSnapshotChunk[] = chunks.map((c, i) =>
      i === 1 ? { ...c, data: Uint8Array.from(c.data, (x) => x ^ 1) } : c,
    );
    expect((await members.rawSnapshot(port, corrupted))?.code).toBe(grpc.status.DATA_LOSS);
    expect((await members.rawSnapshot(port, chunks.slice(0, 2)))?.code).toBe(grpc.status.DATA_LOSS);
    const foreign = chunks.map((c) => ({ ...c, cluster_id: CLUSTER + 1 }));
    expect((await members.rawSnapshot(port, foreign))?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(await members.rawSnapshot(port, chunks)).toBeNull();
    expect(b.received.map((m) => m.type)).toEqual([MessageType.Heartbeat, MessageType.Snap]);
  });

  it('refuses more snapshots at once than incomingSnapshotsMax', async () => {
    const b = members.create(2, { incomingSnapshotsMax: 1 });
    await b.transport.start();
    const port = b.transport.port!;
    const [first] = [
      ...snapshotChunks(
        CLUSTER,
        msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(0) }),
        eagerBytes(new Uint8Array(3000)),
        1000,
      ),
    ];
    // One snapshot call stays open after its first chunk...
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const pending = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.makeClientStreamRequest(
        '/cairn.raft.RaftPeer/Snapshot',
        loadRaftProto().serializeChunk,
        () => ({}),
        (err) => resolve(err),
      );
      call.write(first!);
    });
    await until('first chunk', () => b.transport.incomingStats().snapshotChunks === 1);
    // ...so a second one is refused.
    const second = await members.rawSnapshot(port, [first!]);
    expect(second?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await b.transport.stop();
    expect((await pending)?.code).toBe(grpc.status.UNAVAILABLE);
    client.close();
  });

  it("keeps a dead peer's queues within their bounds and reports the drops", async () => {
    const port = await freePort();
    const a = members.create(1, { queueMessagesMax: 16, queueBytesMax: 64 * 1024 });
    await a.transport.start();
    let maxMessages = 0;
    let maxBytes = 0;
    let sawBackoff = false;
    const sample = (): void => {
      const s = a.transport.peerStats(2)!;
      for (const lane of [s.control, s.append]) {
        maxMessages = Math.max(maxMessages, lane.heldMessages);
        maxBytes = Math.max(maxBytes, lane.heldBytes);
        sawBackoff ||= lane.state === 'backoff';
      }
    };
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    const flood = (): void => {
      a.transport.send([
        ...Array.from({ length: 100 }, (_, i) => msg(MessageType.Heartbeat, 1, 2, { commit: i })),
        ...Array.from({ length: 100 }, (_, i) =>
          msg(MessageType.App, 1, 2, {
            index: i,
            entries: [{ term: 1, index: i, type: 0, data: bytesOf(2048, i) }],
          }),
        ),
      ]);
      sample();
    };
    // The streams are still connecting: the flood fills both queues to their bounds at once.
    flood();
    expect(a.transport.peerStats(2)!.control.heldMessages).toBe(16);
    await until('drops reported', () => a.unreachable.includes(2));
    // Flood on, through failed connects and backoffs.
    let floods = 0;
    await until('fifty more floods, some in backoff', () => {
      flood();
      return ++floods >= 50 && sawBackoff;
    });
    expect(maxMessages).toBeLessThanOrEqual(16);
    expect(maxBytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('waits for drain when a peer stops reading, holds no more than the bound, and resumes in order', async () => {
    // Both streams (control and append) arrive here; neither is read until resumed.
    const paused: grpc.ServerReadableStream<WireEnvelope, unknown>[] = [];
    const got: number[] = [];
    const port = await members.rawServer({
      Stream: (call: grpc.ServerReadableStream<WireEnvelope, unknown>) => {
        call.sendMetadata(new grpc.Metadata());
        call.on('data', (e: WireEnvelope) => got.push(e.message!.commit));
        call.pause();
        paused.push(call);
      },
      Snapshot: () => {},
    });
    const a = members.create(1, { queueMessagesMax: 64, queueBytesMax: 64 * 1024 * 1024 });
    await a.transport.start();
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    await until(
      'streams open',
      () => paused.length === 2 && a.transport.peerStats(2)!.control.state === 'open',
    );
    const big = bytesOf(256 * 1024, 3);
    const beat = (commit: number) => msg(MessageType.Heartbeat, 1, 2, { commit, context: big });
    // 16 MiB at a reader that reads nothing, within the bound; then one more at a time until
    // the bound is reached: it is, because writes wait for drain instead of buffering on.
    a.transport.send(Array.from({ length: 64 }, (_, i) => beat(i)));
    let extra = 0;
    await until('the bound reached', () => {
      a.transport.send([beat(1000 + extra++)]);
      return a.unreachable.length > 0;
    });
    const held = a.transport.peerStats(2)!.control;
    expect(held.state).toBe('open');
    expect(held.heldMessages).toBeGreaterThan(0);
    expect(held.heldMessages).toBeLessThanOrEqual(64);
    for (const call of paused) call.resume();
    await until('everything held delivered', () => a.transport.peerStats(2)!.control.heldMessages === 0);
    a.transport.send([beat(99_999)]);
    await until('a message after the jam', () => got.includes(99_999));
    // What was accepted arrived in order; what was dropped was reported.
    expect(got).toEqual([...got].sort((x, y) => x - y));
    expect(got.slice(0, 64)).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('reports a snapshot under way as failed when its peer is removed', async () => {
    const port = await members.rawServer({
      Stream: (call: grpc.ServerReadableStream<WireEnvelope, unknown>) =>
        call.sendMetadata(new grpc.Metadata()),
      // Never answers: the snapshot stays under way.
      Snapshot: (call: grpc.ServerReadableStream<WireSnapshotChunk, unknown>) => call.on('data', () => {}),
    });
    const a = members.create(1);
    await a.transport.start();
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    a.transport.send([msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(3 * 1024 * 1024) })]);
    await until('sending', () => a.transport.peerStats(2)!.snapshotSending);
    // One at a time: a second snapshot to the same peer is refused while the first is under way.
    a.transport.send([msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(10) })]);
    await until('second refused', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: 2, ok: false }]);
    a.transport.removePeer(2);
    await until('first reported', () => a.snapshotStatus.length === 2);
    expect(a.snapshotStatus).toEqual([
      { id: 2, ok: false },
      { id: 2, ok: false },
    ]);
  });

  it('moves a peer to a new URL with updatePeer', async () => {
    const dead = await freePort();
    const a = members.create(1);
    const b = members.create(2);
    await a.transport.start();
    await b.transport.start();
    a.transport.addPeer(2, `127.0.0.1:${dead}`);
    a.transport.updatePeer(2, `127.0.0.1:${b.transport.port}`);
    await until('delivery at the new URL', () => {
      a.transport.send([msg(MessageType.Heartbeat, 1, 2)]);
      return b.received.length > 0;
    });
  });

  it('stop() ends everything: nothing is delivered or reported afterwards, no socket stays open', async () => {
    const ms = await members.mesh([1, 2, 3]);
    const [a, b, c] = ms as [Member, Member, Member];
    a.transport.send([msg(MessageType.Heartbeat, 1, 2), msg(MessageType.Heartbeat, 1, 3)]);
    await until('delivery', () => b.received.length === 1 && c.received.length === 1);
    await b.transport.stop();
    a.transport.send([
      msg(MessageType.Heartbeat, 1, 2),
      msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(10) }),
    ]);
    b.transport.send([msg(MessageType.Heartbeat, 2, 1)]);
    await until('a notices', () => a.unreachable.includes(2) && a.snapshotStatus.length === 1);
    expect(b.received).toHaveLength(1);
    expect(b.unreachable).toEqual([]);
    for (const m of ms) await m.transport.stop();
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'));
    await until('sockets closed', () => sockets().length === 0);
  });
});
