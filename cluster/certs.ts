/**
 * Certificates for a local TLS cluster, made with openssl: one CA, a certificate per member
 * (for 127.0.0.1 and localhost, usable as server and as client, since members dial each
 * other with it) and one client certificate for etcdctl and other clients. Files that
 * already exist are kept, so a restarted cluster keeps its certificates.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its key, as file paths. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Every file of a local TLS cluster. */
export interface ClusterCerts {
  readonly dir: string;
  /** The CA certificate every member and client trusts. */
  readonly caFile: string;
  readonly members: Readonly<Record<string, CertFiles>>;
  /** A client certificate signed by the same CA (for etcdctl --cert/--key). */
  readonly client: CertFiles;
}

/** Days a generated certificate is valid: long enough for a development cluster. */
const VALIDITY_DAYS = 825;

/** Whether openssl can be run here. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

/** A new P-256 key and a certificate signing request for it. */
function newKeyAndRequest(keyFile: string, csrFile: string, commonName: string): void {
  openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csrFile,
    '-subj',
    `/CN=${commonName}`,
  ]);
  chmodSync(keyFile, 0o600);
}

function makeCa(caFile: string, caKeyFile: string): void {
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    caKeyFile,
    '-out',
    caFile,
    '-days',
    String(VALIDITY_DAYS),
    '-subj',
    `/CN=cairn local CA ${randomBytes(4).toString('hex')}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(caKeyFile, 0o600);
}

/** Signs a new key pair with the CA; `extensions` are x509v3 lines (SANs, key usage). */
function issue(
  dir: string,
  ca: { caFile: string; caKeyFile: string },
  name: string,
  commonName: string,
  extensions: readonly string[],
): CertFiles {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  newKeyAndRequest(keyFile, csrFile, commonName);
  writeFileSync(extFile, `${extensions.join('\n')}\n`);
  try {
    openssl([
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      ca.caFile,
      '-CAkey',
      ca.caKeyFile,
      '-CAserial',
      join(dir, 'ca.srl'),
      '-CAcreateserial',
      '-days',
      String(VALIDITY_DAYS),
      '-extfile',
      extFile,
      '-out',
      certFile,
    ]);
  } finally {
    rmSync(csrFile, { force: true });
    rmSync(extFile, { force: true });
  }
  return { certFile, keyFile };
}

/** A member certificate's extensions: valid for 127.0.0.1, localhost and any other addresses it serves on. */
function memberExtensions(ips: readonly string[] = []): string[] {
  const sans = ['IP:127.0.0.1', 'DNS:localhost', ...ips.map((ip) => `IP:${ip}`)];
  return [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    // Members serve peers and clients, and dial peers: both uses.
    'extendedKeyUsage = serverAuth, clientAuth',
    `subjectAltName = ${sans.join(', ')}`,
  ];
}

const CLIENT_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = clientAuth',
];

const have = (f: CertFiles): boolean => existsSync(f.certFile) && existsSync(f.keyFile);

/**
 * Makes what is missing under dir: the CA (a new CA also renews every certificate, which
 * the old one signed), one certificate per member name, and the client certificate.
 * memberIps adds IP SANs to a member's certificate (members on their own host addresses).
 */
export function ensureClusterCerts(
  dir: string,
  memberNames: readonly string[],
  memberIps: Readonly<Record<string, readonly string[]>> = {},
): ClusterCerts {
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  const files = (name: string): CertFiles => ({
    certFile: join(dir, `${name}.pem`),
    keyFile: join(dir, `${name}-key.pem`),
  });
  const freshCa = !(existsSync(caFile) && existsSync(caKeyFile));
  if (freshCa) makeCa(caFile, caKeyFile);
  const ca = { caFile, caKeyFile };
  const members: Record<string, CertFiles> = {};
  for (const name of memberNames) {
    members[name] =
      !freshCa && have(files(name))
        ? files(name)
        : issue(dir, ca, name, name, memberExtensions(memberIps[name]));
  }
  const client =
    !freshCa && have(files('client'))
      ? files('client')
      : issue(dir, ca, 'client', 'client', CLIENT_EXTENSIONS);
  return { dir, caFile, members, client };
}
