/**
 * Plain gRPC clients of etcd's services (proto/etcd, as proto-loader decodes them: snake_case
 * fields, int64 as numbers, bytes as Buffers) for tests that need calls the etcd3 package
 * does not make: Lock, Election, unary calls a test cancels midway, and probes of which
 * services a member serves.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../../src/common/proto-loader.js';

export { eventually as retry } from './eventually.js';

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
export type Wire = any;

/** A gRPC error as the client sees it. */
export type CallError = Error & { code: grpc.status; details: string };

/** Clients of one member's KV, Watch, Lease, Lock and Election services. */
export interface EtcdGrpc {
  readonly kv: grpc.Client;
  readonly watch: grpc.Client;
  readonly lease: grpc.Client;
  readonly lock: grpc.Client;
  readonly election: grpc.Client;
  close(): void;
}

/** Connects to a member's client URL (http://host:port). */
export function etcdGrpc(clientUrl: string): EtcdGrpc {
  const target = new URL(clientUrl).host;
  const s = etcdServices();
  const creds = grpc.credentials.createInsecure();
  const clients = {
    kv: new s.KV(target, creds),
    watch: new s.Watch(target, creds),
    lease: new s.Lease(target, creds),
    lock: new s.Lock(target, creds),
    election: new s.Election(target, creds),
  };
  return {
    ...clients,
    close: () => {
      for (const c of Object.values(clients)) c.close();
    },
  };
}

/** Calls a unary method; aborting signal cancels the call. */
export function unary(
  client: grpc.Client,
  method: string,
  request: Wire,
  signal?: AbortSignal,
): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const call = (client as Wire)[method](request, (err: CallError | null, res: Wire) =>
      err ? reject(err) : resolve(res),
    ) as grpc.ClientUnaryCall;
    signal?.addEventListener('abort', () => call.cancel(), { once: true });
  });
}

/**
 * Calls a unary method, again while it fails UNAVAILABLE (no leader yet, a proposal lost to
 * a leader change: common on a loaded machine). Only for calls that are safe to repeat: a
 * Lock or Campaign repeated with the same lease finds its own key and carries on.
 */
export async function unaryRetrying(
  client: grpc.Client,
  method: string,
  request: Wire,
  deadlineMs = 30_000,
): Promise<Wire> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await unary(client, method, request);
    } catch (err) {
      if ((err as CallError).code !== grpc.status.UNAVAILABLE || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The keys under a prefix with their create revisions, read linearizably, oldest first. */
export async function keysUnder(
  kv: grpc.Client,
  prefix: string,
): Promise<{ key: string; create_revision: number; value: string }[]> {
  const p = Buffer.from(prefix);
  const end = Buffer.from(p);
  end[end.length - 1]! += 1;
  const r = await unary(kv, 'Range', { key: p, range_end: end, sort_target: 2, sort_order: 1 });
  return (r.kvs as Wire[]).map((kv) => ({
    key: kv.key.toString(),
    create_revision: kv.create_revision,
    value: kv.value.toString(),
  }));
}

/** Polls cond until it holds or the deadline passes (for state another process changes). */
export async function until(cond: () => Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
