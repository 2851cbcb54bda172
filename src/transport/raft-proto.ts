/**
 * Loads proto/raft/raft.proto at run time and exposes the RaftPeer service definition and
 * the wire shapes as proto-loader decodes them (keepCase, uint64 as JS numbers).
 */
import type * as grpc from '@grpc/grpc-js';
import { loadProtoPackage } from '../common/proto-loader.js';

/** An entry as it travels: uint64 fields decoded as numbers, bytes as Buffer. */
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

/** A snapshot as it travels. */
export interface WireSnapshot {
  metadata: { index: number; term: number; conf_state: WireConfState | null } | null;
  data: Uint8Array;
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
  snapshot: WireSnapshot | null;
  reject: boolean;
  reject_hint: number;
  has_context: boolean;
  context: Uint8Array;
}

/** One addressed message, the unit of the RaftPeer.Stream call. */
export interface WireEnvelope {
  cluster_id: number;
  from: number;
  to: number;
  message: WireMessage | null;
  /** A chunk of a snapshot's data (chunked snapshots only). */
  snapshot_chunk?: Uint8Array;
  chunk_index?: number;
  /** 0 or absent: not chunked. */
  chunk_count?: number;
  snapshot_crc?: number;
}

/** The (empty) reply of RaftPeer.Stream. */
export type WireAck = Record<string, never>;

/** The RaftPeer service and its client constructor, loaded once. */
export interface RaftProto {
  readonly service: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
}

let loaded: RaftProto | undefined;

/** Loads the raft peer proto (cached): uint64 as Number, field names as declared. */
export function loadRaftProto(): RaftProto {
  if (loaded !== undefined) return loaded;
  const pkg = loadProtoPackage('raft', ['raft.proto']) as unknown as {
    cairn: { raft: { RaftPeer: grpc.ServiceClientConstructor } };
  };
  const Client = pkg.cairn.raft.RaftPeer;
  loaded = { service: Client.service, Client };
  return loaded;
}
