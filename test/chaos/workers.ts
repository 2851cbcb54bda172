/**
 * Client workers that load a cluster over the etcd v3 gRPC API (raw grpc clients from
 * etcdServices(), a deadline on every call) and record a history for the linearizability
 * checker: put, linearizable get, delete, and compare-and-set as a Txn, on a small key set,
 * every written value unique. A write that fails after it may have been sent (deadline,
 * connection lost, any server error) is recorded with an unknown outcome; a write that never
 * left (no connection to the member) and a failed read are dropped, they had no effect.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { SimPrng } from '../sim/prng.js';
import type { HistoryOp, KvOp, KvResult } from './checker/history.js';
import { call } from './cluster.js';

/** How the workers run. */
export interface WorkloadOptions {
  readonly workers: number;
  readonly keys: readonly string[];
  /** Client endpoints (host:port), one per member. */
  readonly endpoints: readonly string[];
  readonly requestTimeoutMs: number;
  readonly seed: number;
  /** Upper bound on operations for the whole run. */
  readonly opsMax: number;
  /** Reads served locally by any member (serializable): not linearizable, a canary for the checker. */
  readonly serializableReads?: boolean;
}

/** The history and what went into it. */
export class HistoryRecorder {
  readonly ops: HistoryOp[] = [];
  private nextId = 0;
  ok = 0;
  unknown = 0;
  failed = 0;

  /** A fresh operation id. */
  id(): number {
    return this.nextId++;
  }

  /** Records an answered operation. */
  answered(id: number, process: number, key: string, op: KvOp, invokeMs: number, result: KvResult): void {
    this.ops.push({ id, process, key, op, invokeMs, returnMs: performance.now(), result });
    this.ok++;
  }

  /** Records an operation whose outcome is unknown. */
  unanswered(id: number, process: number, key: string, op: KvOp, invokeMs: number): void {
    this.ops.push({ id, process, key, op, invokeMs });
    this.unknown++;
  }
}

/** Whether a gRPC error means the request never reached a member (nothing could have happened). */
export function neverSent(err: grpc.ServiceError): boolean {
  return (
    err.code === grpc.status.UNAVAILABLE &&
    /No connection established|ECONNREFUSED|Connection refused/i.test(err.details ?? err.message)
  );
}

type KvClient = grpc.Client;

/** One KV call for an operation; its answer as a KvResult. */
export async function runOp(
  client: KvClient,
  key: string,
  op: KvOp,
  timeoutMs: number,
  serializable = false,
): Promise<KvResult> {
  const k = Buffer.from(key);
  switch (op.kind) {
    case 'get': {
      const r = await call<{ kvs: { value: Buffer }[] }>(
        client,
        'Range',
        { key: k, serializable },
        timeoutMs,
      );
      const kv = r.kvs[0];
      return { kind: 'get', value: kv === undefined ? null : kv.value.toString() };
    }
    case 'put':
      await call(client, 'Put', { key: k, value: Buffer.from(op.value) }, timeoutMs);
      return { kind: 'put' };
    case 'delete': {
      const r = await call<{ deleted: number }>(client, 'DeleteRange', { key: k }, timeoutMs);
      return { kind: 'delete', deleted: Number(r.deleted) };
    }
    case 'cas': {
      const compare =
        op.expected === null
          ? { result: 0, target: 1, key: k, create_revision: 0 }
          : { result: 0, target: 3, key: k, value: Buffer.from(op.expected) };
      const r = await call<{ succeeded: boolean }>(
        client,
        'Txn',
        {
          compare: [compare],
          success: [{ request_put: { key: k, value: Buffer.from(op.value) } }],
          failure: [],
        },
        timeoutMs,
      );
      return { kind: 'cas', succeeded: r.succeeded };
    }
  }
}

/** KV clients, one per endpoint. */
export function kvClients(endpoints: readonly string[]): KvClient[] {
  const { KV } = etcdServices();
  // Reconnect quickly to a restarted member (grpc-js would otherwise back off up to two minutes).
  const options = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 };
  return endpoints.map((e) => new KV(e, grpc.credentials.createInsecure(), options));
}

/**
 * Runs the workers until `stop()` resolves true or opsMax operations were issued. Each
 * worker sticks to a member while it answers and moves to another at random on an error.
 */
export async function runWorkload(
  opts: WorkloadOptions,
  recorder: HistoryRecorder,
  shouldStop: () => boolean,
): Promise<void> {
  const root = new SimPrng(opts.seed);
  let issued = 0;
  const worker = async (w: number): Promise<void> => {
    const rng = root.fork();
    const clients = kvClients(opts.endpoints);
    const lastSeen = new Map<string, string | null>();
    let member = rng.nextInt(clients.length);
    let seq = 0;
    try {
      while (!shouldStop() && issued < opts.opsMax) {
        issued++;
        const key = rng.pick(opts.keys);
        const r = rng.nextInt(10);
        const value = `w${w}-${seq++}`;
        const op: KvOp =
          r < 4
            ? { kind: 'get' }
            : r < 7
              ? { kind: 'put', value }
              : r < 9
                ? { kind: 'cas', expected: lastSeen.get(key) ?? null, value }
                : { kind: 'delete' };
        const id = recorder.id();
        const invokeMs = performance.now();
        try {
          const result = await runOp(
            clients[member]!,
            key,
            op,
            opts.requestTimeoutMs,
            opts.serializableReads,
          );
          recorder.answered(id, w, key, op, invokeMs, result);
          if (result.kind === 'get') lastSeen.set(key, result.value);
          else if (op.kind === 'put' || (result.kind === 'cas' && result.succeeded && op.kind === 'cas'))
            lastSeen.set(key, op.value);
          else if (op.kind === 'delete') lastSeen.set(key, null);
        } catch (err) {
          if (op.kind === 'get' || neverSent(err as grpc.ServiceError)) recorder.failed++;
          else recorder.unanswered(id, w, key, op, invokeMs);
          member = rng.nextInt(clients.length);
          await new Promise((res) => setTimeout(res, 20 + rng.nextInt(50)));
        }
        await new Promise((res) => setTimeout(res, rng.nextInt(4)));
      }
    } finally {
      for (const c of clients) c.close();
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w)));
}

/**
 * A final linearizable read of each key, recorded in the history (as process `processId`):
 * tried on each member in turn until one answers, at most `attempts` times per key.
 */
export async function finalReads(
  endpoints: readonly string[],
  keys: readonly string[],
  recorder: HistoryRecorder,
  processId: number,
  attempts = 30,
): Promise<{ read: number; missing: string[] }> {
  const clients = kvClients(endpoints);
  const missing: string[] = [];
  let read = 0;
  try {
    for (const key of keys) {
      let done = false;
      for (let i = 0; i < attempts && !done; i++) {
        const id = recorder.id();
        const invokeMs = performance.now();
        try {
          const result = await runOp(clients[i % clients.length]!, key, { kind: 'get' }, 2000);
          recorder.answered(id, processId, key, { kind: 'get' }, invokeMs, result);
          done = true;
          read++;
        } catch {
          await new Promise((res) => setTimeout(res, 200));
        }
      }
      if (!done) missing.push(key);
    }
  } finally {
    for (const c of clients) c.close();
  }
  return { read, missing };
}
