/**
 * Turns a CairnError into the gRPC error etcd would send, from the one wire table in
 * common/wire-errors.ts (client/ reads the same table backwards). An error without an
 * entry is an internal error and says so.
 */
import * as grpc from '@grpc/grpc-js';
import { type CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import { WIRE_ERRORS } from '../common/wire-errors.js';

type GrpcError = Error & { code: grpc.status; details: string };

function grpcError(status: grpc.status, message: string): GrpcError {
  return Object.assign(new Error(message), { code: status, details: message });
}

/** The gRPC error etcd would send for this error. */
export function toGrpcError(err: unknown): GrpcError {
  if (isCairnError(err)) {
    const e = err as CairnError;
    const mapped = WIRE_ERRORS[e.code];
    if (mapped) return grpcError(mapped.status, mapped.message);
    if (e.code === ErrorCode.INVALID_ARGUMENT) return grpcError(grpc.status.INVALID_ARGUMENT, e.message);
  }
  return grpcError(
    grpc.status.INTERNAL,
    `etcdserver: internal error: ${(err as Error)?.message ?? String(err)}`,
  );
}
