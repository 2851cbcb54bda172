/**
 * A member's TLS, from etcd's flags to gRPC credentials: the PEM files named by
 * --cert-file/--key-file/--trusted-ca-file (clients) and their --peer-* twins (peers) are
 * read and checked once at startup, so a missing, unreadable or mismatched file stops the
 * member with an error naming the flag and the path, instead of a failed handshake later.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { isHttps, type ServerConfig } from './config.js';
import { CairnError, ErrorCode } from './errors.js';

/** A certificate (chain) and its private key, PEM. */
export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** One side of a member's TLS (client-facing or peer), as read from its files. */
export interface TlsSide {
  /** What the member presents; absent when no cert/key files were given. */
  readonly keyPair?: KeyPair;
  /** The CA bundle the other end's certificate must chain to; absent: the system's roots. */
  readonly ca?: Buffer;
  /** Whether the server side refuses connections without a certificate that chains to ca. */
  readonly clientCertAuth: boolean;
}

/** Both sides of a member's TLS. */
export interface MemberTls {
  readonly client: TlsSide;
  readonly peer: TlsSide;
}

/** Reads a file as bytes; injectable for tests. */
export type ReadBytes = (path: string) => Buffer;

function unusable(flag: string, path: string, why: string): CairnError {
  return new CairnError(ErrorCode.INVALID_ARGUMENT, `--${flag} ${path}: ${why}`);
}

function readPem(flag: string, path: string, read: ReadBytes): Buffer {
  try {
    return read(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw unusable(flag, path, `cannot read the file (${e.code ?? e.message})`);
  }
}

/** Reads a certificate file and checks that it holds a certificate. */
function readCertificate(
  flag: string,
  path: string,
  read: ReadBytes,
): { pem: Buffer; x509: X509Certificate } {
  const pem = readPem(flag, path, read);
  try {
    return { pem, x509: new X509Certificate(pem) };
  } catch {
    throw unusable(flag, path, 'is not a PEM certificate');
  }
}

function readKeyPair(
  flags: { cert: string; key: string },
  paths: { cert?: string | undefined; key?: string | undefined },
  read: ReadBytes,
): KeyPair | undefined {
  if (paths.cert === undefined || paths.key === undefined) return undefined;
  const cert = readCertificate(flags.cert, paths.cert, read);
  const key = readPem(flags.key, paths.key, read);
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw unusable(flags.key, paths.key, 'is not a PEM private key');
  }
  if (!cert.x509.checkPrivateKey(privateKey))
    throw unusable(flags.key, paths.key, `is not the private key of --${flags.cert} ${paths.cert}`);
  return { cert: cert.pem, key };
}

/** Reads and checks every TLS file the configuration names. */
export function loadMemberTls(config: ServerConfig, read: ReadBytes = (p) => readFileSync(p)): MemberTls {
  const side = (prefix: '' | 'peer-', cert?: string, key?: string, ca?: string, auth = false): TlsSide => {
    const keyPair = readKeyPair(
      { cert: `${prefix}cert-file`, key: `${prefix}key-file` },
      { cert, key },
      read,
    );
    const caPem = ca === undefined ? undefined : readCertificate(`${prefix}trusted-ca-file`, ca, read).pem;
    return {
      clientCertAuth: auth,
      ...(keyPair ? { keyPair } : {}),
      ...(caPem ? { ca: caPem } : {}),
    };
  };
  return {
    client: side('', config.certFile, config.keyFile, config.trustedCaFile, config.clientCertAuth),
    peer: side(
      'peer-',
      config.peerCertFile,
      config.peerKeyFile,
      config.peerTrustedCaFile,
      config.peerClientCertAuth,
    ),
  };
}

/** The credentials a server binds a URL with: TLS for https:// (client certificates as configured), none for http://. */
export function serverCredentialsFor(url: string, side: TlsSide): grpc.ServerCredentials {
  if (!isHttps(url)) return grpc.ServerCredentials.createInsecure();
  if (side.keyPair === undefined)
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `${url}: https needs a certificate and key`);
  return grpc.ServerCredentials.createSsl(
    side.ca ?? null,
    [{ cert_chain: side.keyPair.cert, private_key: side.keyPair.key }],
    side.clientCertAuth,
  );
}

/** TLS credentials for dialling https:// URLs: trusts ca (else the system's roots) and presents the key pair if there is one. */
export function channelCredentialsOf(side: Omit<TlsSide, 'clientCertAuth'>): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(side.ca ?? null, side.keyPair?.key ?? null, side.keyPair?.cert ?? null);
}

/** Files a TLS client (readiness probe, tool) dials with; the names of etcdctl's --cacert/--cert/--key. */
export interface ClientTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** Channel credentials from a client's files, with the same checks and errors as the server's. */
export function channelCredentialsFromFiles(
  files: ClientTlsFiles,
  read: ReadBytes = (p) => readFileSync(p),
): grpc.ChannelCredentials {
  const keyPair = readKeyPair(
    { cert: 'cert', key: 'key' },
    { cert: files.certFile, key: files.keyFile },
    read,
  );
  const ca = files.caFile === undefined ? undefined : readCertificate('cacert', files.caFile, read).pem;
  return channelCredentialsOf({ ...(keyPair ? { keyPair } : {}), ...(ca ? { ca } : {}) });
}

/**
 * TLS credentials for dialling peers, made on first use: making them loads the CA store
 * (about 90 ms of CPU at every start), which a member whose peers are all http:// never needs.
 */
export type PeerCredentials = () => grpc.ChannelCredentials;

/** The peer side's dialling credentials (channelCredentialsOf), made the first time an https:// peer is dialled. */
export function peerCredentialsOf(side: Omit<TlsSide, 'clientCertAuth'>): PeerCredentials {
  let made: grpc.ChannelCredentials | undefined;
  return () => {
    made ??= channelCredentialsOf(side);
    return made;
  };
}

/** How to dial a peer at this URL: plaintext for http:// (as etcd decides per URL), else the peer TLS credentials when there are any. */
export function peerDialCredentials(
  url: string,
  peerTls: PeerCredentials | undefined,
): grpc.ChannelCredentials {
  return url.startsWith('http://') || peerTls === undefined ? grpc.credentials.createInsecure() : peerTls();
}
