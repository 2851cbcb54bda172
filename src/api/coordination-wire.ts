/**
 * What the Lock and Election services share: reading their wire requests (bytes and int64
 * fields, checked), and unary handlers whose work is aborted when the client cancels the
 * call, so that a waiter that went away leaves no watch behind.
 */
import type * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';
import { mvccError } from '../mvcc/index.js';
import { toGrpcError } from './errors.js';
import type { WireHeader } from './header.js';

/** The response header at a store revision (cluster id, member id and term from the member). */
export type HeaderAt = (revision: number) => WireHeader;

/** A gRPC unary handler as grpc-js calls it. */
export type UnaryHandler = (
  call: grpc.ServerUnaryCall<unknown, unknown>,
  cb: grpc.sendUnaryData<unknown>,
) => void;

/** A bytes field of a decoded request (absent: empty). */
export function wireBytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

/** A non-empty bytes field: empty answers etcd's "key is not provided" (InvalidArgument). */
export function requiredName(v: unknown): Uint8Array {
  const b = wireBytes(v);
  if (b.byteLength === 0) throw mvccError(ErrorCode.EMPTY_KEY);
  return b;
}

/** An int64 field that must be exactly representable (Cairn keeps ids below 2^53). */
export function wireInt(v: unknown, field: string): number {
  const n = typeof v === 'number' ? v : Number(v ?? 0);
  if (!Number.isSafeInteger(n))
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `etcdserver: ${field} is out of range`);
  return n;
}

/** Runs fn with a signal that aborts when the client cancels the call; answers its result or etcd's error. */
export function cancellableUnary(
  fn: (request: unknown, signal: AbortSignal) => Promise<unknown>,
): UnaryHandler {
  return (call, cb) => {
    const controller = new AbortController();
    const onCancel = (): void => controller.abort();
    call.on('cancelled', onCancel);
    Promise.resolve()
      .then(() => fn(call.request, controller.signal))
      .then(
        (res) => cb(null, res),
        (err: unknown) => cb(toGrpcError(err)),
      )
      .finally(() => {
        call.removeListener('cancelled', onCancel);
        controller.abort();
      });
  };
}

/** Resolves when the stream can take more, or the call is cancelled. */
export function drained(
  call: grpc.ServerWritableStream<unknown, unknown>,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.removeListener('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
