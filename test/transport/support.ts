/**
 * Helpers for the transport tests: raft message and snapshot factories, GrpcTransport members
 * that record what reaches their handler, raw RaftPeer clients and servers that speak the
 * wire directly, and polling with a generous deadline (never a timed assertion).
 */
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../src/common/logger.js';
import { EntryType, type Message, MessageType, type NodeId, type Snapshot } from '../../src/raft/types.js';
import { GrpcTransport, type GrpcTransportOptions } from '../../src/transport/grpc-transport.js';
import { loadRaftProto, STREAM_METHOD, type WireSnapshotChunk } from '../../src/transport/raft-proto.js';

/** The cluster id the test members share. */
export const CLUSTER = 0x1234_5678_9abc;

/** A message with every field set to something recognizable; `extra` overrides. */
export function msg(type: MessageType, from: NodeId, to: NodeId, extra: Partial<Message> = {}): Message {
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

/** n bytes of a recognizable pattern. */
export function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >>> 8)) & 0xff;
  return b;
}

/** A snapshot of `bytes` bytes of data with a joint configuration. */
export function snapshotOf(bytes: number, seed = 7): Snapshot {
  return {
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
    data: bytesOf(bytes, seed),
  };
}

/** Resolves once cond() holds; polls every 10 ms and fails after deadlineMs. */
export async function until(what: string, cond: () => boolean, deadlineMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A GrpcTransport and everything its handler was given. */
export interface Member {
  readonly id: NodeId;
  readonly transport: GrpcTransport;
  readonly received: Message[];
  readonly unreachable: NodeId[];
  readonly snapshotStatus: Array<{ id: NodeId; ok: boolean }>;
}

/** Creates members and closes them (and raw servers and clients) in close(). */
export class Members {
  private readonly transports: GrpcTransport[] = [];
  private readonly servers: grpc.Server[] = [];
  private readonly clients: grpc.Client[] = [];

  /** A member that listens on 127.0.0.1 (port 0 picks a free one) once started. */
  create(
    id: NodeId,
    extra: Partial<Omit<GrpcTransportOptions, 'onMessage' | 'onUnreachable' | 'onSnapshotStatus'>> = {},
    listen = true,
  ): Member {
    const received: Message[] = [];
    const unreachable: NodeId[] = [];
    const snapshotStatus: Array<{ id: NodeId; ok: boolean }> = [];
    const transport = new GrpcTransport({
      selfId: id,
      clusterId: CLUSTER,
      logger: silentLogger(),
      ...(listen ? { listenAddress: '127.0.0.1:0' } : {}),
      onMessage: (m) => received.push(m),
      onUnreachable: (peer) => unreachable.push(peer),
      onSnapshotStatus: (peer, ok) => snapshotStatus.push({ id: peer, ok }),
      ...extra,
    });
    this.transports.push(transport);
    return { id, transport, received, unreachable, snapshotStatus };
  }

  /** Started members that know each other. */
  async mesh(ids: readonly NodeId[]): Promise<Member[]> {
    const ms = ids.map((id) => this.create(id));
    for (const m of ms) await m.transport.start();
    for (const a of ms) {
      for (const b of ms) if (a !== b) a.transport.addPeer(b.id, `http://127.0.0.1:${b.transport.port}`);
    }
    return ms;
  }

  /** A raw gRPC server with the given RaftPeer handlers, bound on 127.0.0.1. */
  async rawServer(impl: grpc.UntypedServiceImplementation, port = 0): Promise<number> {
    const server = new grpc.Server();
    server.addService(loadRaftProto().service, impl);
    this.servers.push(server);
    return new Promise((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
  }

  /** Sends envelopes on one raw Stream call and returns how the call ended. */
  async rawStream(port: number, envelopes: readonly object[]): Promise<grpc.ServiceError | null> {
    const client = this.rawClient(port);
    return new Promise((resolve) => {
      const call = client.makeClientStreamRequest(
        STREAM_METHOD,
        // The proto's own serializer: it takes off-contract shapes too, which is the point here.
        loadRaftProto().service.Stream!.requestSerialize as (e: object) => Buffer,
        loadRaftProto().deserializeAck,
        (err) => resolve(err),
      );
      for (const e of envelopes) call.write(e);
      call.end();
    });
  }

  /** Sends chunks on one raw Snapshot call (ending it) and returns how the call ended. */
  async rawSnapshot(port: number, chunks: readonly WireSnapshotChunk[]): Promise<grpc.ServiceError | null> {
    const client = this.rawClient(port);
    return new Promise((resolve) => {
      const call = client.makeClientStreamRequest(
        '/cairn.raft.RaftPeer/Snapshot',
        (c: WireSnapshotChunk) => loadRaftProto().serializeChunk(c),
        loadRaftProto().deserializeAck,
        (err) => resolve(err),
      );
      for (const c of chunks) call.write(c);
      call.end();
    });
  }

  /** Stops every transport and shuts every raw server and client down. */
  async close(): Promise<void> {
    for (const t of this.transports.splice(0)) await t.stop();
    for (const c of this.clients.splice(0)) c.close();
    for (const s of this.servers.splice(0)) s.forceShutdown();
  }

  private rawClient(port: number): grpc.Client {
    const client = new (loadRaftProto().Client)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.clients.push(client);
    return client;
  }
}

/** A copy of a message whose snapshot data is left out (vitest compares megabytes slowly). */
export function withoutSnapshotData(m: Message): Message {
  return m.snapshot === undefined ? m : { ...m, snapshot: { ...m.snapshot, data: new Uint8Array(0) } };
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

/** Messages of every type that may cross the wire, from `from` to `to`, with entries and contexts. */
export function everyWireMessage(from: NodeId, to: NodeId): Message[] {
  const entries = [
    { term: 3, index: 11, type: EntryType.Normal, data: bytesOf(100, 1) },
    { term: 3, index: 12, type: EntryType.ConfChange, data: bytesOf(7, 2) },
    {
      term: Number.MAX_SAFE_INTEGER,
      index: Number.MAX_SAFE_INTEGER,
      type: EntryType.Normal,
      data: new Uint8Array(0),
    },
  ];
  return [
    msg(MessageType.Prop, from, to, { entries: entries.slice(0, 1), term: 0 }),
    msg(MessageType.App, from, to, { entries }),
    msg(MessageType.AppResp, from, to, { reject: true, rejectHint: 42 }),
    msg(MessageType.Vote, from, to, { context: new Uint8Array(0) }),
    msg(MessageType.VoteResp, from, to, { reject: true }),
    msg(MessageType.Snap, from, to, { snapshot: snapshotOf(3000) }),
    msg(MessageType.Heartbeat, from, to, { commit: Number.MAX_SAFE_INTEGER, context: bytesOf(16, 4) }),
    msg(MessageType.HeartbeatResp, from, to, { context: bytesOf(16, 4) }),
    msg(MessageType.TransferLeader, from, to),
    msg(MessageType.TimeoutNow, from, to),
    msg(MessageType.ReadIndex, from, to, {
      entries: [{ term: 0, index: 0, type: EntryType.Normal, data: bytesOf(8, 5) }],
    }),
    msg(MessageType.ReadIndexResp, from, to, {
      entries: [{ term: 0, index: 0, type: EntryType.Normal, data: bytesOf(8, 5) }],
    }),
    msg(MessageType.PreVote, from, to, { term: 4 }),
    msg(MessageType.PreVoteResp, from, to, { term: 4, reject: true }),
  ];
}
