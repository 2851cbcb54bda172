/**
 * Where a client connects and how: endpoint strings as etcd clients accept them
 * (host:port, http://host:port, https://host:port) and the TLS material for https.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';

/** The client ports of the three-member cluster `npm start` runs (cluster/topology.ts). */
export const DEFAULT_ENDPOINTS: readonly string[] = ['127.0.0.1:2379', '127.0.0.1:22379', '127.0.0.1:32379'];

/** TLS for a client: PEM contents (Buffer/string) or file paths. */
export interface TlsOptions {
  /** CA bundle the servers' certificates must chain to (PEM); absent: the system's roots. */
  ca?: Buffer | string;
  /** Path of the CA bundle, instead of `ca`. */
  caFile?: string;
  /** The client's certificate (PEM), for servers with client-cert-auth. */
  cert?: Buffer | string;
  /** Path of the client certificate. */
  certFile?: string;
  /** The client's private key (PEM). */
  key?: Buffer | string;
  /** Path of the client key. */
  keyFile?: string;
  /** Server name to verify instead of the endpoint's host (SNI and certificate check). */
  serverName?: string;
}

/** One parsed endpoint: the gRPC target and whether it asked for TLS. */
export interface Endpoint {
  /** host:port, as grpc-js dials it. */
  readonly address: string;
  /** True for https:// endpoints. */
  readonly secure: boolean;
}

/** Parses "host:port", "http://host:port" or "https://host:port". */
export function parseEndpoint(text: string): Endpoint {
  const trimmed = text.trim();
  const withScheme = /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CairnError(
      ErrorCode.INVALID_ARGUMENT,
      `endpoint "${text}" is not host:port or http(s)://host:port`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `endpoint "${text}": scheme must be http or https`);
  }
  if (url.port === '' || url.hostname === '') {
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `endpoint "${text}" needs a host and a port`);
  }
  return { address: url.host, secure: url.protocol === 'https:' };
}

function pem(value: Buffer | string | undefined, file: string | undefined, what: string): Buffer | undefined {
  if (value !== undefined) return Buffer.isBuffer(value) ? value : Buffer.from(value);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CairnError(
      ErrorCode.INVALID_ARGUMENT,
      `cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** The channel credentials for a set of endpoints: TLS when any is https or TLS options were given. */
export function channelCredentials(
  endpoints: readonly Endpoint[],
  tls: TlsOptions | undefined,
): grpc.ChannelCredentials {
  const secure = endpoints.some((e) => e.secure);
  if (secure && endpoints.some((e) => !e.secure)) {
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'endpoints mix http and https; use one scheme for all');
  }
  if (!secure && tls === undefined) return grpc.credentials.createInsecure();
  const ca = pem(tls?.ca, tls?.caFile, 'CA');
  const cert = pem(tls?.cert, tls?.certFile, 'certificate');
  const key = pem(tls?.key, tls?.keyFile, 'key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new CairnError(
      ErrorCode.INVALID_ARGUMENT,
      'a client certificate needs its key, and a key its certificate',
    );
  }
  return grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
}
