/**
 * Loads proto/raft/raft.proto at run time and exposes the RaftPeer service definition and
 * the wire shapes as proto-loader decodes them (keepCase, uint64 as JS numbers).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

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
}

/** The (empty) reply of RaftPeer.Stream. */
export type WireAck = Record<string, never>;

/** Walks up from this module to the folder holding package.json (works from src/ and dist/src/). */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('raft-proto: no package.json above this module');
    dir = parent;
  }
}

/** The RaftPeer service and its client constructor, loaded once. */
export interface RaftProto {
  readonly service: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
}

let loaded: RaftProto | undefined;

/** Loads the raft peer proto (cached): uint64 as Number, field names as declared. */
export function loadRaftProto(): RaftProto {
  if (loaded !== undefined) return loaded;
  const file = join(findRepoRoot(), 'proto', 'raft', 'raft.proto');
  const definition = protoLoader.loadSync(file, {
    keepCase: true,
    longs: Number,
    enums: Number,
    defaults: true,
    arrays: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    cairn: { raft: { RaftPeer: grpc.ServiceClientConstructor } };
  };
  const Client = pkg.cairn.raft.RaftPeer;
  loaded = { service: Client.service, Client };
  return loaded;
}
