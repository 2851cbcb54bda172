/**
 * One server interceptor that sees every call on the client port end, whatever its handler:
 * the method, the gRPC status it ended with (or Canceled when the client went away first)
 * and how long it ran. The metrics count it as go-grpc-prometheus does for etcd
 * (grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}).
 */
import * as grpc from '@grpc/grpc-js';

/** A call's shape, as go-grpc-prometheus names it. */
export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** One finished call. */
export interface GrpcCallObservation {
  readonly type: GrpcType;
  /** Fully qualified service, e.g. etcdserverpb.KV. */
  readonly service: string;
  readonly method: string;
  /** Go's name of the status code (OK, NotFound, Unavailable...), as etcd's metrics label it. */
  readonly code: string;
  readonly durationSeconds: number;
}

/** Go's codes.Code.String() for each gRPC status code. */
const GO_CODE_NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  1: 'Canceled',
  2: 'Unknown',
  3: 'InvalidArgument',
  4: 'DeadlineExceeded',
  5: 'NotFound',
  6: 'AlreadyExists',
  7: 'PermissionDenied',
  8: 'ResourceExhausted',
  9: 'FailedPrecondition',
  10: 'Aborted',
  11: 'OutOfRange',
  12: 'Unimplemented',
  13: 'Internal',
  14: 'Unavailable',
  15: 'DataLoss',
  16: 'Unauthenticated',
};

/** The label etcd's metrics give a status code. */
export function goCodeName(code: number): string {
  return GO_CODE_NAMES[code] ?? `Code(${code})`;
}

function typeOf(def: grpc.ServerMethodDefinition<unknown, unknown>): GrpcType {
  if (def.requestStream && def.responseStream) return 'bidi_stream';
  if (def.requestStream) return 'client_stream';
  return def.responseStream ? 'server_stream' : 'unary';
}

/** "/etcdserverpb.KV/Range" -> service and method. */
function splitPath(path: string): { service: string; method: string } {
  const parts = path.split('/');
  return { service: parts[1] ?? '', method: parts[2] ?? '' };
}

/** An interceptor that reports each call once, when it ends (status sent, or cancelled by the client). */
export function grpcObserverInterceptor(
  observe: (o: GrpcCallObservation) => void,
  started?: (type: GrpcType, service: string, method: string) => void,
): grpc.ServerInterceptor {
  return (def, call) => {
    const type = typeOf(def);
    const { service, method } = splitPath(def.path);
    const startedNs = process.hrtime.bigint();
    let reported = false;
    const report = (code: number): void => {
      if (reported) return;
      reported = true;
      const durationSeconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
      observe({ type, service, method, code: goCodeName(code), durationSeconds });
    };
    started?.(type, service, method);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => report(grpc.status.CANCELLED) }),
      sendStatus: (status, next) => {
        report(status.code ?? grpc.status.OK);
        next(status);
      },
    });
  };
}
