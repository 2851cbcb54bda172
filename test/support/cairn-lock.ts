/**
 * A plain gRPC client of Cairn's cairn.v1.LockService (proto/cairn/v1/lock.proto, decoded as
 * proto-loader does: snake_case fields, int64 as numbers, bytes as Buffers) for the e2e
 * tests; call it with unary() from etcd-grpc.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { cairnService } from '../../src/common/proto-loader.js';

/** Connects to a member's client URL (http://host:port). */
export function lockServiceClient(clientUrl: string): grpc.Client {
  const LockService = cairnService('lock.proto', 'LockService');
  return new LockService(new URL(clientUrl).host, grpc.credentials.createInsecure());
}
