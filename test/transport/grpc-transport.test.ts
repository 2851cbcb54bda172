/**
 * Proves the gRPC peer transport carries raft messages exactly (entries, context bytes, a
 * 2 MiB snapshot), reports a down peer as unreachable and recovers once it is up, refuses
 * a stream from another cluster, and keeps heartbeats on a stream of their own so they
 * overtake a burst of large appends — with three transports on real servers on 127.0.0.1,
 * polling with generous deadlines instead of timing assertions.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { type Entry, EntryType, type Message, MessageType, type NodeId } from '../../src/raft/types.js';
import { GrpcTransport, RAFT_PEER_SERVER_OPTIONS } from '../../src/transport/grpc-transport.js';
import { loadRaftProto } from '../../src/transport/raft-proto.js';

const CLUSTER = 0x1234_5678_9abc;

interface Member {
  readonly id: NodeId;
  readonly transport: GrpcTransport;
  readonly received: Message[];
  readonly unreachable: NodeId[];
  readonly snapshotStatus: Array<{ id: NodeId; ok: boolean }>;
  server: grpc.Server | undefined;
}

const servers = new Set<grpc.Server>();
const transports = new Set<GrpcTransport>();

afterEach(async () => {
  for (const t of transports) await t.stop();
  transports.clear();
  for (const s of servers) s.forceShutdown();
  servers.clear();
});

function member(id: NodeId, clusterId = CLUSTER, bounds: { queueMessagesMax?: number } = {}): Member {
  const m: Member = {
    id,
    received: [],
    unreachable: [],
    snapshotStatus: [],
    server: undefined,
    transport: undefined as unknown as GrpcTransport,
  };
  const transport = new GrpcTransport({
    selfId: id,
    clusterId,
    logger: silentLogger(),
    onMessage: (msg) => m.received.push(msg),
    onUnreachable: (peer) => m.unreachable.push(peer),
    onSnapshotStatus: (peer, ok) => m.snapshotStatus.push({ id: peer, ok }),
    ...bounds,
  });
  transports.add(transport);
  return Object.assign(m, { transport });
}

async function serve(m: Member, port = 0): Promise<number> {
  const server = new grpc.Server(RAFT_PEER_SERVER_OPTIONS);
  m.transport.register(server);
  servers.add(server);
  m.server = server;
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
}

async function until(what: string, cond: () => boolean, deadlineMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function msg(type: MessageType, from: NodeId, to: NodeId, extra: Partial<Message> = {}): Message {
  return {
    type,
    from,
    to,
    term: 3,
    logTerm: 2,
    index: 10,
    entries: [],
    commit: 9,
    reject: false,
    rejectHint: 0,
    ...extra,
  };
}

function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function cluster3(): Promise<Member[]> {
  const ms = [member(1), member(2), member(3)];
  const ports = await Promise.all(ms.map((m) => serve(m)));
  for (const a of ms) {
    ms.forEach((b, i) => {
      if (a !== b) a.transport.addPeer(b.id, `http://127.0.0.1:${ports[i]}`);
    });
  }
  return ms;
}

describe('GrpcTransport', () => {
  it('round-trips messages of several types exactly, including a 2 MiB snapshot', async () => {
    const [a, b, c] = (await cluster3()) as [Member, Member, Member];
    const entries: Entry[] = [
      { term: 3, index: 11, type: EntryType.Normal, data: bytesOf(100, 1) },
      { term: 3, index: 12, type: EntryType.ConfChange, data: bytesOf(7, 2) },
      { term: 3, index: 13, type: EntryType.Normal, data: new Uint8Array(0) },
    ];
    const snapshot = {
      metadata: {
        index: 2 ** 40,
        term: 7,
        confState: {
          voters: [1, 2, 3],
          learners: [4],
          votersOutgoing: [1, 2],
          learnersNext: [5],
          autoLeave: true,
        },
      },
      data: bytesOf(2 * 1024 * 1024, 3),
    };
    const toB: Message[] = [
      msg(MessageType.App, 1, 2, { entries }),
      msg(MessageType.Heartbeat, 1, 2, { context: bytesOf(16, 4) }),
      msg(MessageType.Vote, 1, 2, { context: new Uint8Array(0) }),
      msg(MessageType.Snap, 1, 2, { snapshot, term: Number.MAX_SAFE_INTEGER }),
    ];
    const toC: Message[] = [
      msg(MessageType.AppResp, 1, 3, { reject: true, rejectHint: 42 }),
      msg(MessageType.ReadIndexResp, 1, 3, { context: bytesOf(8, 5) }),
      msg(MessageType.PreVote, 1, 3),
    ];
    a.transport.send([...toB, ...toC]);
    b.transport.send([msg(MessageType.HeartbeatResp, 2, 1), msg(MessageType.VoteResp, 2, 3)]);
    await until(
      'all messages',
      () => b.received.length === 4 && c.received.length === 4 && a.received.length === 1,
    );
    const byType = (ms: Message[]) => [...ms].sort((x, y) => x.type - y.type);
    // vitest compares a 2 MiB array byte by byte slowly: the snapshot's data is compared on its own.
    expect(byType(b.received).map(withoutSnapshotData)).toEqual(byType(toB).map(withoutSnapshotData));
    expect(byType(c.received)).toEqual(byType([...toC, msg(MessageType.VoteResp, 2, 3)]));
    expect(a.received).toEqual([msg(MessageType.HeartbeatResp, 2, 1)]);
    const snap = b.received.find((m) => m.type === MessageType.Snap)!;
    expect(snap.snapshot!.data.constructor).toBe(Uint8Array);
    expect(snap.snapshot!.data.byteLength).toBe(2 * 1024 * 1024);
    expect(Buffer.compare(Buffer.from(snap.snapshot!.data), Buffer.from(snapshot.data))).toBe(0);
    // A message without context arrives without one; an empty context stays an empty context.
    expect(c.received.find((m) => m.type === MessageType.PreVote)!.context).toBeUndefined();
    expect(b.received.find((m) => m.type === MessageType.Vote)!.context).toEqual(new Uint8Array(0));
    await until('snapshot status', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: 2, ok: true }]);
  });

  it('reports a down peer as unreachable and delivers again once it is up', async () => {
    const a = member(1);
    const b = member(2);
    await serve(a);
    // Learn a free port, then free it: b is down at a known address.
    const probe = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      probe.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    probe.forceShutdown();
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    await until('unreachable', () => {
      a.transport.send([
        msg(MessageType.Heartbeat, 1, 2),
        msg(MessageType.Snap, 1, 2, { snapshot: tinySnapshot() }),
      ]);
      return a.unreachable.includes(2) && a.snapshotStatus.some((s) => s.id === 2 && !s.ok);
    });
    expect(b.received).toEqual([]);
    await serve(b, port);
    await until('delivery after the peer came up', () => {
      a.transport.send([msg(MessageType.Heartbeat, 1, 2, { commit: 77 })]);
      return b.received.some((m) => m.commit === 77);
    });
  });

  it('refuses a stream from another cluster', async () => {
    const a = member(1, CLUSTER + 1);
    const b = member(2);
    const port = await serve(b);
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    // A raw client sees the refusal's status.
    const status = await rawStream(port, { cluster_id: CLUSTER + 1, from: 1, to: 2, message: null });
    expect(status?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status?.details).toMatch(/cluster id mismatch/);
    // The transport of the other cluster gets nothing through and is told the peer is unreachable.
    await until('unreachable', () => {
      a.transport.send([msg(MessageType.Heartbeat, 1, 2)]);
      return a.unreachable.includes(2);
    });
    expect(b.received).toEqual([]);
  });

  it('delivers a heartbeat ahead of a burst of large appends', async () => {
    const [a, b] = (await cluster3()) as [Member, Member, Member];
    // Establish both streams first.
    a.transport.send([msg(MessageType.Heartbeat, 1, 2), msg(MessageType.App, 1, 2, { index: 0 })]);
    await until('warm-up', () => b.received.length === 2);
    b.received.length = 0;
    const payload = bytesOf(64 * 1024, 9);
    const appends = Array.from({ length: 200 }, (_, i) =>
      msg(MessageType.App, 1, 2, {
        index: i + 1,
        entries: [{ term: 3, index: i + 1, type: EntryType.Normal, data: payload }],
      }),
    );
    a.transport.send(appends);
    a.transport.send([msg(MessageType.Heartbeat, 1, 2, { commit: 1234 })]);
    await until('burst', () => b.received.length === 201);
    const heartbeatAt = b.received.findIndex((m) => m.type === MessageType.Heartbeat);
    const lastAppendAt = b.received.findIndex((m) => m.type === MessageType.App && m.index === 200);
    expect(heartbeatAt).toBeLessThan(lastAppendAt);
    // Appends keep their order on the bulk stream.
    const appIndexes = b.received.filter((m) => m.type === MessageType.App).map((m) => m.index);
    expect(appIndexes).toEqual(appends.map((m) => m.index));
    expect(a.unreachable).toEqual([]);
  });

  it('stop() closes every stream: nothing is delivered or reported afterwards', async () => {
    const [a, b] = (await cluster3()) as [Member, Member, Member];
    a.transport.send([msg(MessageType.Heartbeat, 1, 2)]);
    await until('delivery', () => b.received.length === 1);
    await a.transport.stop();
    a.transport.send([msg(MessageType.Heartbeat, 1, 2)]);
    await b.transport.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(b.received.length).toBe(1);
    expect(a.unreachable).toEqual([]);
  });
  it('refuses an envelope for another member and a message that breaks the contract', async () => {
    const b = member(2);
    const port = await serve(b);
    const wire = (message: object, to = 2) => ({ cluster_id: CLUSTER, from: 1, to, message });
    const base = { type: MessageType.Heartbeat, from: 1, to: 2, entries: [], has_context: false };
    expect((await rawStream(port, wire({ ...base, to: 3 }, 3)))?.code).toBe(grpc.status.FAILED_PRECONDITION);
    const unsafe = await rawStream(port, wire({ ...base, term: 2 ** 60 }));
    expect(unsafe?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(unsafe?.details).toMatch(/term/);
    const local = await rawStream(port, wire({ ...base, type: MessageType.Hup }));
    expect(local?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(b.received).toEqual([]);
  });

  it('drops messages beyond the queue bound and reports the peer unreachable', async () => {
    const a = member(1, CLUSTER, { queueMessagesMax: 2 });
    const b = member(2);
    const port = await serve(b);
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    // The streams are still being established: everything queues, and the bound is hit at once.
    a.transport.send([1, 2, 3, 4, 5].map((commit) => msg(MessageType.Heartbeat, 1, 2, { commit })));
    await until('unreachable', () => a.unreachable.includes(2));
    await until('the queued messages', () => b.received.length === 2);
    expect(b.received.map((m) => m.commit)).toEqual([1, 2]);
  });

  it('reports a queued snapshot as failed when its peer is removed', async () => {
    const a = member(1);
    const b = member(2);
    const port = await serve(b);
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    a.transport.send([msg(MessageType.Snap, 1, 2, { snapshot: tinySnapshot() })]);
    a.transport.removePeer(2);
    await until('snapshot status', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: 2, ok: false }]);
    a.transport.send([msg(MessageType.Heartbeat, 1, 2)]);
    await until('unreachable', () => a.unreachable.includes(2));
  });

  it('leaves no socket open once transports are stopped and servers shut down', async () => {
    const ms = await cluster3();
    ms[0]!.transport.send([msg(MessageType.Heartbeat, 1, 2), msg(MessageType.Heartbeat, 1, 3)]);
    await until('delivery', () => ms[1]!.received.length === 1 && ms[2]!.received.length === 1);
    for (const m of ms) await m.transport.stop();
    for (const m of ms) await new Promise<void>((r) => m.server!.tryShutdown(() => r()));
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'));
    await until('sockets closed', () => sockets().length === 0);
  });
});

async function rawStream(port: number, envelope: object): Promise<grpc.ServiceError | null> {
  const { Client, service } = loadRaftProto();
  const raw = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    return await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.makeClientStreamRequest(
        '/cairn.raft.RaftPeer/Stream',
        service.Stream!.requestSerialize,
        service.Stream!.responseDeserialize,
        (err) => resolve(err),
      );
      call.write(envelope);
    });
  } finally {
    raw.close();
  }
}

function withoutSnapshotData(m: Message): Message {
  if (m.snapshot === undefined) return m;
  return { ...m, snapshot: { ...m.snapshot, data: new Uint8Array(0) } };
}

function tinySnapshot() {
  return {
    metadata: {
      index: 5,
      term: 1,
      confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
    },
    data: bytesOf(10, 7),
  };
}
