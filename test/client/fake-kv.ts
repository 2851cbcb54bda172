/**
 * For SDK tests against an in-process fake of etcd's KV service: starting it with handlers the
 * test writes, the success answer of each method, and the ClientError a call failed with.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'vitest';
import { serviceDefinitions } from '../../src/api/definitions.js';
import type { Client } from '../../src/client/client.js';
import { ClientError, type ErrorCode } from '../../src/client/errors.js';
import { op } from '../../src/client/kv-ops.js';

/** The body of a successful answer, by KV method. */
export const OK_BY_METHOD: Readonly<Record<string, object>> = {
  Range: { kvs: [], count: 0, more: false },
  Put: {},
  DeleteRange: { deleted: 1, prev_kvs: [] },
  Txn: { succeeded: true, responses: [] },
};

/** A successful answer of `method`, at revision 7 in term 2. */
export function okAnswer(method: string): object {
  return { header: { revision: 7, raft_term: 2 }, ...OK_BY_METHOD[method] };
}

/** A KV handler as the fake takes it. */
export type FakeHandler = (
  call: grpc.ServerUnaryCall<unknown, unknown>,
  callback: grpc.sendUnaryData<unknown>,
) => void;

/** Starts a gRPC server on a free loopback port serving `methods` of KV through handlerFor(method). */
export async function startFakeKv(
  handlerFor: (method: string) => FakeHandler,
  methods: readonly string[] = Object.keys(OK_BY_METHOD),
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of methods) handlers[method] = handlerFor(method);
  server.addService(serviceDefinitions().kv, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, port };
}

/** The ClientError a call failed with (fails the test when it succeeded). */
export async function failure(p: Promise<unknown>): Promise<ClientError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  return err as ClientError;
}

/**
 * Sends a put, a delete and a writing txn, and checks that each failed with `code` and an
 * unknown outcome, and that the fake saw each exactly once (`arrived`: calls by method).
 */
export async function expectWritesSentOnce(
  client: Client,
  code: ErrorCode,
  arrived: ReadonlyMap<string, number>,
): Promise<void> {
  const put = await failure(client.kv.put('k', 'v'));
  const del = await failure(client.kv.delete('k'));
  const txn = await failure(client.kv.txn().success(op.put('k', 'v')).commit());
  for (const err of [put, del, txn]) {
    expect(err.code).toBe(code);
    expect(err.outcomeUnknown).toBe(true);
  }
  expect(Object.fromEntries(arrived)).toEqual({ Put: 1, DeleteRange: 1, Txn: 1 });
}
