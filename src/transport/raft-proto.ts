/**
 * Loads proto/raft/raft.proto at run time (through common/proto-loader: field names as
 * declared, uint64 and enums as JS numbers, bytes as Buffers) and exposes the RaftPeer
 * service, its method paths and codecs, and the wire shapes as they decode.
 */
import type * as grpc from '@grpc/grpc-js';
import { loadProtoPackage } from '../common/proto-loader.js';
import { decodeEnvelopeFrame } from './envelope-wire.js';

/** An entry as it travels. */
export interface WireEntry {
  term: number;
  index: number;
  type: number;
  data: Uint8Array;
}

/** A configuration as it travels. */
export interface WireConfState {
  voters: number[];
  learners: number[];
  voters_outgoing: number[];
  learners_next: number[];
  auto_leave: boolean;
}

/** A snapshot's metadata as it travels (its data travels in chunks). */
export interface WireSnapshotMetadata {
  index: number;
  term: number;
  conf_state: WireConfState | null;
}

/** A raft message as it travels. */
export interface WireMessage {
  type: number;
  to: number;
  from: number;
  term: number;
  log_term: number;
  index: number;
  entries: WireEntry[];
  commit: number;
  snapshot: WireSnapshotMetadata | null;
  reject: boolean;
  reject_hint: number;
  has_context: boolean;
  context: Uint8Array;
}

/** One addressed message: the unit of RaftPeer.Stream. */
/**
 * The encoded size of a message as it arrived, set (not enumerable) on the decoded object
 * by the serving side's deserializer, for etcd_network_peer_received_bytes_total.
 */
export const WIRE_BYTES: unique symbol = Symbol('wireBytes');

/** A service definition like `service` whose request deserializers record WIRE_BYTES on what they decode. */
export function withWireBytes(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service)) {
    const decode = def.requestDeserialize;
    out[name] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        const value = decode(bytes);
        if (value !== null && typeof value === 'object')
          Object.defineProperty(value, WIRE_BYTES, { value: bytes.byteLength, enumerable: false });
        return value;
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

export interface WireEnvelope {
  cluster_id: number;
  from: number;
  to: number;
  message: WireMessage | null;
}

/** One piece of a snapshot: the unit of RaftPeer.Snapshot. */
export interface WireSnapshotChunk {
  cluster_id: number;
  from: number;
  to: number;
  /** First chunk only. */
  message: WireMessage | null;
  /** First chunk only. */
  total_bytes: number;
  offset: number;
  data: Uint8Array;
  /** CRC-32 of the data from its start through this chunk. */
  crc32: number;
}

/** The (empty) replies of both calls. */
export type WireAck = Record<string, never>;

/** Full gRPC method path of the message stream. */
export const STREAM_METHOD = '/cairn.raft.RaftPeer/Stream';
/** The header a member opens its streams with, naming itself: the peer learns at once that it is up. */
export const SENDER_METADATA_KEY = 'cairn-sender';
/** Full gRPC method path of the snapshot call. */
export const SNAPSHOT_METHOD = '/cairn.raft.RaftPeer/Snapshot';

/** The RaftPeer service definition, its client constructor and the codecs of its calls. */
export interface RaftProto {
  readonly service: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
  readonly serializeChunk: (c: WireSnapshotChunk) => Buffer;
  readonly deserializeAck: (b: Buffer) => WireAck;
}

let loaded: RaftProto | undefined;

/** Loads the raft peer proto once and returns the cached definitions afterwards. */
export function loadRaftProto(): RaftProto {
  if (loaded !== undefined) return loaded;
  const pkg = loadProtoPackage('raft', ['raft.proto']) as unknown as {
    cairn: { raft: { RaftPeer: grpc.ServiceClientConstructor } };
  };
  const Client = pkg.cairn.raft.RaftPeer;
  const stream = Client.service.Stream!;
  const snapshot = Client.service.Snapshot!;
  loaded = {
    // The Stream call's frames are decoded by envelope-wire.ts (one pass instead of two).
    service: { ...Client.service, Stream: { ...stream, requestDeserialize: decodeEnvelopeFrame } },
    Client,
    serializeChunk: snapshot.requestSerialize as (c: WireSnapshotChunk) => Buffer,
    deserializeAck: stream.responseDeserialize as (b: Buffer) => WireAck,
  };
  return loaded;
}
