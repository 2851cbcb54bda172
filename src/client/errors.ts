/**
 * The client's typed errors: what arrives on the wire (gRPC status + message) read back into
 * Cairn's stable error codes through the same table the server sends from
 * (common/wire-errors.ts), plus whether the call certainly did not happen (safe to retry)
 * or may have happened (retry only what is idempotent).
 */
import { status as Status } from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';
import { WIRE_ERRORS } from '../common/wire-errors.js';

export { ErrorCode } from '../common/errors.js';

/** A failed call as the SDK reports it: a stable code, the gRPC status, and what is known of its outcome. */
export class ClientError extends CairnError {
  /** Always "CairnError", so logs and `instanceof`-free checks see one name for every SDK error. */
  override readonly name = 'CairnError';

  constructor(
    code: ErrorCode,
    message: string,
    /** The gRPC status the call ended with. */
    readonly grpcStatus: Status,
    /** True when the operation may have taken effect although the call failed. */
    readonly outcomeUnknown: boolean,
    /** The endpoint (host:port) that answered or failed, when one was reached. */
    readonly endpoint?: string,
    /** For COMPACTED watch errors: the oldest revision still available. */
    readonly compactRevision?: number,
  ) {
    super(code, message);
  }
}

const CODE_BY_WIRE = new Map<string, ErrorCode>();
for (const [code, wire] of Object.entries(WIRE_ERRORS)) {
  const key = `${wire.status}|${wire.message}`;
  if (!CODE_BY_WIRE.has(key)) CODE_BY_WIRE.set(key, code as ErrorCode);
}

/** Codes whose operation may have been applied although the call failed. */
const OUTCOME_UNKNOWN: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.TIMEOUT,
  ErrorCode.TIMEOUT_DUE_TO_LEADER_FAIL,
  ErrorCode.STOPPED,
  ErrorCode.CONNECTION_LOST,
  ErrorCode.CANCELLED,
  ErrorCode.INTERNAL,
]);

/** grpc-js says this when no connection existed, so nothing was sent. */
function neverSent(details: string): boolean {
  return /No connection established|ECONNREFUSED|Name resolution failed|failed to connect|Connection refused|DNS resolution failed/i.test(
    details,
  );
}

/** The stable code for a (status, message) pair, as the server's table defines it. */
export function codeOf(status: Status, message: string): ErrorCode {
  const known = CODE_BY_WIRE.get(`${status}|${message}`);
  if (known) return known;
  switch (status) {
    case Status.INVALID_ARGUMENT:
      return ErrorCode.INVALID_ARGUMENT;
    case Status.DEADLINE_EXCEEDED:
      return ErrorCode.TIMEOUT;
    case Status.CANCELLED:
      return ErrorCode.CANCELLED;
    case Status.RESOURCE_EXHAUSTED:
      return ErrorCode.OVERLOADED;
    case Status.UNAVAILABLE:
      return neverSent(message) ? ErrorCode.CONNECTION_FAILED : ErrorCode.CONNECTION_LOST;
    default:
      return ErrorCode.INTERNAL;
  }
}

/** Converts whatever a grpc-js call failed with into a ClientError (ClientErrors pass through). */
export function toClientError(err: unknown, endpoint?: string): ClientError {
  if (err instanceof ClientError) return err;
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof e?.code === 'number') {
    const status = e.code as Status;
    const message = typeof e.details === 'string' && e.details !== '' ? e.details : String(e.message ?? '');
    const code = codeOf(status, message);
    return new ClientError(code, message, status, OUTCOME_UNKNOWN.has(code), endpoint);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ClientError(ErrorCode.INTERNAL, message, Status.UNKNOWN, true, endpoint);
}

/** Whether an error is a ClientError (optionally with the given code). */
export function isClientError(err: unknown, code?: ErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}
