/**
 * Sends fuzz payloads through grpc-js as raw bytes (identity serializers, so the client
 * never validates them) and judges the answer: every call must end with a proper gRPC
 * status from the server, not a dropped connection, and not an internal error that only
 * an unhandled exception would produce.
 */
import * as grpc from '@grpc/grpc-js';
import type { ApiMethod } from './schema.js';

/** How one call ended. */
export interface CallOutcome {
  readonly code: grpc.status;
  readonly details: string;
  /** Messages the server sent before the status. */
  readonly messages: number;
}

const identity = (b: Buffer): Buffer => b;
/** Server-streamed messages read before the fuzzer cancels a stream (a Snapshot can be long). */
const STREAM_MESSAGES_MAX = 64;

/** One grpc-js client per endpoint, with no size limits of its own. */
export function rawClient(endpoint: string): grpc.Client {
  return new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
}

/** Calls `method` with raw payloads (one for a unary or server-streaming call). */
export function callRaw(
  client: grpc.Client,
  method: ApiMethod,
  payloads: readonly Buffer[],
  timeoutMs: number,
): Promise<CallOutcome> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    let messages = 0;
    const done = (err: grpc.ServiceError | null | undefined, status?: grpc.StatusObject): void => {
      if (err) resolve({ code: err.code, details: err.details, messages });
      else resolve({ code: status?.code ?? grpc.status.OK, details: status?.details ?? '', messages });
    };
    if (!method.requestStream && !method.responseStream) {
      const call = client.makeUnaryRequest(
        method.path,
        identity,
        identity,
        payloads[0] ?? Buffer.alloc(0),
        { deadline },
        (err) => {
          if (err) done(err);
        },
      );
      call.on('status', (s: grpc.StatusObject) => {
        if (s.code === grpc.status.OK) done(null, s);
      });
      return;
    }
    const duplex = method.requestStream
      ? client.makeBidiStreamRequest(method.path, identity, identity, { deadline })
      : undefined;
    const stream: grpc.ClientReadableStream<Buffer> =
      duplex ??
      client.makeServerStreamRequest(method.path, identity, identity, payloads[0] ?? Buffer.alloc(0), {
        deadline,
      });
    let settled = false;
    stream.on('data', () => {
      messages++;
      if (messages >= STREAM_MESSAGES_MAX && !settled) {
        settled = true;
        stream.cancel();
        resolve({ code: grpc.status.OK, details: 'read enough of the stream', messages });
      }
    });
    stream.on('error', () => {});
    stream.on('status', (s: grpc.StatusObject) => {
      if (settled) return;
      settled = true;
      done(null, s);
    });
    if (duplex) {
      for (const p of payloads) duplex.write(p);
      duplex.end();
    }
  });
}

/** Error texts grpc-js produces itself when the connection, not the server, ended a call. */
const TRANSPORT_FAILURES =
  /Connection dropped|No connection established|ECONNREFUSED|ECONNRESET|Received RST_STREAM|protocol error|Stream refused|GOAWAY|socket hang up/i;
/** Texts of JavaScript exceptions that leaked into a status. */
const LEAKED_EXCEPTIONS =
  /TypeError|RangeError|ReferenceError|SyntaxError|Cannot read propert|is not a function|is not iterable|Maximum call stack|Invalid array length|assertion|undefined|NaN/;

/** What is wrong with how a call ended, or undefined if it ended properly. */
export function problemOf(o: CallOutcome): string | undefined {
  if (!Number.isInteger(o.code) || o.code < 0 || o.code > 16)
    return `status code ${o.code} is not a gRPC code`;
  if (o.code === grpc.status.OK) return undefined;
  if (o.details.length === 0) return `status ${grpc.status[o.code]} with an empty message`;
  if (TRANSPORT_FAILURES.test(o.details)) return `the connection failed instead of a status: ${o.details}`;
  if (o.code === grpc.status.INTERNAL && o.details.startsWith('etcdserver: internal error'))
    return `an unclassified internal error: ${o.details}`;
  if (o.code === grpc.status.UNKNOWN && /handler threw|Unknown Error/i.test(o.details))
    return `a handler threw: ${o.details}`;
  if (!o.details.startsWith('Error deserializing request') && LEAKED_EXCEPTIONS.test(o.details))
    return `a JavaScript exception leaked into the status: ${o.details}`;
  return undefined;
}
