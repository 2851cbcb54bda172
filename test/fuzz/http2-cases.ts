/**
 * Raw HTTP/2 requests below grpc-js's client: bad content types, gRPC length prefixes that
 * are truncated or claim more than the body holds, the compressed flag on garbage, an
 * unknown codec, a message above the server's receive limit, bad timeouts, unknown paths,
 * and (the one case allowed to end without a status) bytes that are not HTTP/2 at all.
 * Each answer must be a gRPC status (or HTTP 415 for a non-gRPC content type, as the gRPC
 * spec says), never a reset connection.
 */
import * as http2 from 'node:http2';
import { connect as netConnect } from 'node:net';
import type { SimPrng } from '../sim/prng.js';
import type { ApiMethod } from './schema.js';

/** What a raw exchange produced. */
export interface RawOutcome {
  readonly httpStatus?: number;
  readonly grpcStatus?: number;
  readonly grpcMessage?: string;
  /** Set if the stream or session failed (reset, GOAWAY, socket error) before an answer. */
  readonly failure?: string;
}

/** One raw case: what it sends and what a correct server answers. */
export interface RawCase {
  readonly name: string;
  readonly path: string;
  /** Accepts the outcome, or says what is wrong. */
  readonly check: (o: RawOutcome) => string | undefined;
  run(endpoint: string, timeoutMs: number): Promise<RawOutcome>;
}

/** The gRPC message frame: compressed flag, 4-byte big-endian length, body. */
function frame(body: Buffer, opts: { compressed?: boolean; length?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head[0] = opts.compressed ? 1 : 0;
  head.writeUInt32BE(opts.length ?? body.length, 1);
  return Buffer.concat([head, body]);
}

function exchange(
  endpoint: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  timeoutMs: number,
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://${endpoint}`);
    let result: RawOutcome = {};
    let finished = false;
    const finish = (o: RawOutcome): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      session.destroy();
      resolve(o);
    };
    const timer = setTimeout(
      () => finish({ ...result, failure: result.failure ?? 'no answer in time' }),
      timeoutMs,
    );
    session.on('error', (err) => finish({ ...result, failure: `session error: ${err.message}` }));
    const req = session.request({ ':method': 'POST', te: 'trailers', ...headers });
    const take = (h: http2.IncomingHttpHeaders): void => {
      const status = h[':status'];
      const gs = h['grpc-status'];
      const gm = h['grpc-message'];
      result = {
        ...result,
        ...(status !== undefined ? { httpStatus: Number(status) } : {}),
        ...(gs !== undefined ? { grpcStatus: Number(gs) } : {}),
        ...(gm !== undefined ? { grpcMessage: decodeURIComponent(String(gm)) } : {}),
      };
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => {});
    req.on('error', (err) => finish({ ...result, failure: `stream error: ${err.message}` }));
    req.on('close', () => {
      if (result.grpcStatus === undefined && result.httpStatus === undefined)
        finish({ ...result, failure: `stream closed with code ${req.rstCode}` });
      else finish(result);
    });
    req.end(body);
  });
}

const grpcHeaders = (path: string): http2.OutgoingHttpHeaders => ({
  ':path': path,
  'content-type': 'application/grpc',
});

/** A proper gRPC status, optionally one of some codes. */
function expectStatus(...codes: number[]): (o: RawOutcome) => string | undefined {
  return (o) => {
    if (o.failure) return `no gRPC status: ${o.failure}`;
    if (o.grpcStatus === undefined) return `no grpc-status (HTTP ${o.httpStatus})`;
    if (o.grpcStatus !== 0 && !o.grpcMessage) return `grpc-status ${o.grpcStatus} without a message`;
    if (codes.length > 0 && !codes.includes(o.grpcStatus))
      return `grpc-status ${o.grpcStatus} (${o.grpcMessage}), expected one of ${codes.join(', ')}`;
    return undefined;
  };
}

function exchangeCase(
  name: string,
  path: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  check: (o: RawOutcome) => string | undefined,
): RawCase {
  return { name, path, check, run: (endpoint, timeoutMs) => exchange(endpoint, headers, body, timeoutMs) };
}

/** Random bytes. */
function noise(prng: SimPrng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = prng.nextInt(256);
  return b;
}

/** Picks one raw case for a (unary or server-streaming) method, from the PRNG. */
export function rawCase(prng: SimPrng, method: ApiMethod, maxReceiveBytes: number): RawCase {
  const path = method.path;
  const body = noise(prng, prng.nextInt(64));
  const choice = prng.nextInt(13);
  switch (choice) {
    case 0:
      return exchangeCase(
        'content-type text/plain',
        path,
        { ':path': path, 'content-type': 'text/plain' },
        frame(body),
        (o) =>
          o.httpStatus === 415 || o.grpcStatus !== undefined
            ? undefined
            : `HTTP ${o.httpStatus ?? '-'}: ${o.failure ?? ''}`,
      );
    case 1:
      return exchangeCase('no content-type', path, { ':path': path }, frame(body), (o) =>
        o.httpStatus === 415 || o.grpcStatus !== undefined
          ? undefined
          : `HTTP ${o.httpStatus ?? '-'}: ${o.failure ?? ''}`,
      );
    case 2:
      return exchangeCase(
        'truncated length prefix',
        path,
        grpcHeaders(path),
        frame(body).subarray(0, 1 + prng.nextInt(4)),
        expectStatus(),
      );
    case 3:
      return exchangeCase(
        'length prefix larger than the body',
        path,
        grpcHeaders(path),
        frame(body, { length: body.length + 1 + prng.nextInt(1000) }),
        expectStatus(),
      );
    case 4:
      return exchangeCase(
        'compressed flag without grpc-encoding',
        path,
        grpcHeaders(path),
        frame(body, { compressed: true }),
        expectStatus(),
      );
    case 5:
      return exchangeCase(
        'gzip flag on garbage',
        path,
        { ...grpcHeaders(path), 'grpc-encoding': 'gzip' },
        frame(body, { compressed: true }),
        expectStatus(),
      );
    case 6:
      return exchangeCase(
        'unknown grpc-encoding',
        path,
        { ...grpcHeaders(path), 'grpc-encoding': 'snappy-of-doom' },
        frame(body, { compressed: true }),
        expectStatus(),
      );
    case 7:
      return exchangeCase(
        'message above the receive limit',
        path,
        grpcHeaders(path),
        frame(Buffer.alloc(maxReceiveBytes + 1 + prng.nextInt(4096), 0x0a)),
        expectStatus(8), // RESOURCE_EXHAUSTED
      );
    case 8:
      return exchangeCase(
        'length prefix of 4 GiB',
        path,
        grpcHeaders(path),
        frame(body, { length: 0xffff_ffff }),
        expectStatus(8),
      );
    case 9:
      return exchangeCase(
        'unknown method',
        `${path}Nope`,
        grpcHeaders(`${path}Nope`),
        frame(body),
        expectStatus(12),
      ); // UNIMPLEMENTED
    case 10:
      return exchangeCase(
        'bad grpc-timeout',
        path,
        { ...grpcHeaders(path), 'grpc-timeout': 'soon' },
        frame(Buffer.alloc(0)),
        expectStatus(),
      );
    case 11:
      return exchangeCase(
        'two messages on a unary call',
        path,
        grpcHeaders(path),
        Buffer.concat([frame(Buffer.alloc(0)), frame(body)]),
        method.requestStream ? () => undefined : expectStatus(),
      );
    default:
      return {
        name: 'bytes that are not HTTP/2',
        path,
        check: () => undefined, // genuinely broken framing: the server may just close the socket
        run: (endpoint, timeoutMs) =>
          garbageConnection(endpoint, noise(prng, 1 + prng.nextInt(512)), timeoutMs),
      };
  }
}

/** Writes bytes on a raw TCP connection and waits until the server closes it (or the time is up). */
function garbageConnection(endpoint: string, bytes: Buffer, timeoutMs: number): Promise<RawOutcome> {
  const [host, port] = [
    endpoint.slice(0, endpoint.lastIndexOf(':')),
    Number(endpoint.slice(endpoint.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ failure: 'connection closed (expected for garbage)' });
    });
  });
}
