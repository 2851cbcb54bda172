/**
 * Loads Cairn's .proto files at run time with @grpc/proto-loader, for servers and clients
 * alike. Field names are kept as declared (etcd's snake_case), 64-bit integers come back as
 * JavaScript numbers (Cairn keeps every id, revision, index and term below 2^53 and checks
 * it where values arrive), enums as numbers, bytes as Buffers, and oneofs are marked.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The folder holding package.json, found by walking up from this module (works from src/ and dist/src/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('proto-loader: no package.json above this module');
    dir = parent;
  }
}

const cache = new Map<string, grpc.GrpcObject>();

/** Loads proto files (paths relative to proto/<includeDir>) and returns the gRPC package object, cached. */
export function loadProtoPackage(includeDir: string, files: readonly string[]): grpc.GrpcObject {
  const key = `${includeDir}|${files.join(',')}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const root = join(repoRoot(), 'proto', includeDir);
  const definition = protoLoader.loadSync(
    files.map((f) => join(root, f)),
    {
      keepCase: true,
      longs: Number,
      enums: Number,
      defaults: true,
      arrays: true,
      oneofs: true,
      includeDirs: [root],
    },
  );
  const pkg = grpc.loadPackageDefinition(definition);
  cache.set(key, pkg);
  return pkg;
}

/** etcd's services as Cairn declares them (proto/etcd): client constructors and service definitions. */
export interface EtcdServices {
  readonly KV: grpc.ServiceClientConstructor;
  readonly Watch: grpc.ServiceClientConstructor;
  readonly Lease: grpc.ServiceClientConstructor;
  readonly Cluster: grpc.ServiceClientConstructor;
  readonly Maintenance: grpc.ServiceClientConstructor;
  /** etcdserverpb.Auth: users, roles, permissions, tokens. */
  readonly Auth: grpc.ServiceClientConstructor;
  /** v3lockpb.Lock */
  readonly Lock: grpc.ServiceClientConstructor;
  /** v3electionpb.Election */
  readonly Election: grpc.ServiceClientConstructor;
}

/** Loads etcd's services (etcdserverpb, v3lockpb, v3electionpb) once. */
export function etcdServices(): EtcdServices {
  const pkg = loadProtoPackage('etcd', [
    'etcdserverpb/rpc.proto',
    'v3lockpb/v3lock.proto',
    'v3electionpb/v3election.proto',
  ]) as unknown as {
    etcdserverpb: Omit<EtcdServices, 'Lock' | 'Election'>;
    v3lockpb: { Lock: grpc.ServiceClientConstructor };
    v3electionpb: { Election: grpc.ServiceClientConstructor };
  };
  return { ...pkg.etcdserverpb, Lock: pkg.v3lockpb.Lock, Election: pkg.v3electionpb.Election };
}

/** One of Cairn's own services (proto/cairn/v1/<file>, package cairn.v1): its client constructor and definition. */
export function cairnService(file: string, service: string): grpc.ServiceClientConstructor {
  const pkg = loadProtoPackage('cairn', [`v1/${file}`]) as unknown as {
    cairn: { v1: Record<string, grpc.ServiceClientConstructor | undefined> };
  };
  const ctor = pkg.cairn.v1[service];
  if (!ctor) throw new Error(`proto/cairn/v1/${file} declares no service ${service}`);
  return ctor;
}
