/**
 * The shape of a local cluster: member names, ports and flags. One place decides it for
 * cluster/start.sh, `npm start` and the tests (which pass free ports instead of the
 * defaults, so a running cluster and the tests never collide).
 */
import { join } from 'node:path';
import type { ClusterCerts } from './certs.js';

/** One member of a local cluster. */
export interface LocalMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** The metrics listener (/metrics, /health, /dashboard), when the member has one. */
  readonly metricsUrl?: string;
}

/** A local cluster's members and the flags each is started with. */
export interface LocalTopology {
  readonly members: readonly LocalMember[];
  readonly token: string;
  readonly rootDir: string;
  /** With certificates: https client and peer URLs, client-cert-auth on both. */
  readonly tls?: ClusterCerts;
}

/** A member's ports; `metrics` (optional) serves --listen-metrics-urls. */
export interface MemberPorts {
  readonly client: number;
  readonly peer: number;
  readonly metrics?: number;
}

/**
 * The default ports, as etcd's documentation uses for a local three-member cluster, with
 * each member's metrics listener two above its client port (2381, as kubeadm gives etcd's).
 */
export const DEFAULT_PORTS: readonly MemberPorts[] = [
  { client: 2379, peer: 2380, metrics: 2381 },
  { client: 22379, peer: 22380, metrics: 22381 },
  { client: 32379, peer: 32380, metrics: 32381 },
];

/** The member names of a local cluster over these ports. */
export function memberNames(ports: readonly unknown[] = DEFAULT_PORTS): string[] {
  return ports.map((_, i) => `n${i + 1}`);
}

/** Where a TLS cluster under a data root keeps its members and certificates (apart from a plain one: member ids differ). */
export function tlsRootOf(dataRoot: string): { rootDir: string; certDir: string } {
  const rootDir = join(dataRoot, 'tls');
  return { rootDir, certDir: join(rootDir, 'certs') };
}

/**
 * Builds a topology over the given ports (defaults: DEFAULT_PORTS) with data under rootDir;
 * with certificates, every URL is https.
 */
export function localTopology(
  rootDir: string,
  ports = DEFAULT_PORTS,
  token = 'cairn-local',
  tls?: ClusterCerts,
): LocalTopology {
  const names = memberNames(ports);
  const members = ports.map((p, i) => localMember(rootDir, names[i]!, p, tls !== undefined));
  return { members, token, rootDir, ...(tls ? { tls } : {}) };
}

/** The TLS flags of one member: its certificate on both sides, the cluster's CA, client-cert-auth on. */
function tlsFlags(tls: ClusterCerts, name: string): string[] {
  const own = tls.members[name];
  if (!own) throw new Error(`no certificate for member ${name}`);
  return [
    `--cert-file=${own.certFile}`,
    `--key-file=${own.keyFile}`,
    `--trusted-ca-file=${tls.caFile}`,
    '--client-cert-auth=true',
    `--peer-cert-file=${own.certFile}`,
    `--peer-key-file=${own.keyFile}`,
    `--peer-trusted-ca-file=${tls.caFile}`,
    '--peer-client-cert-auth=true',
  ];
}

/** One member named `name` on the given ports, with its data under rootDir. */
export function localMember(rootDir: string, name: string, ports: MemberPorts, https = false): LocalMember {
  const scheme = https ? 'https' : 'http';
  return {
    name,
    clientPort: ports.client,
    peerPort: ports.peer,
    dataDir: join(rootDir, name),
    clientUrl: `${scheme}://127.0.0.1:${ports.client}`,
    peerUrl: `${scheme}://127.0.0.1:${ports.peer}`,
    // The metrics listener is plain http, as etcd's --listen-metrics-urls usually is.
    ...(ports.metrics !== undefined ? { metricsUrl: `http://127.0.0.1:${ports.metrics}` } : {}),
  };
}

/** The folder a member's server keeps its data in (--data-dir): inside the member's folder, beside its pid and log files. */
export function memberDataDir(m: LocalMember): string {
  return join(m.dataDir, 'data');
}

/**
 * How a member that joins a running cluster is started: the members to list in
 * --initial-cluster besides itself (as `member add` prints them) and
 * --initial-cluster-state existing.
 */
export interface JoinAs {
  readonly existing: readonly { readonly name: string; readonly peerUrl: string }[];
}

/** The server flags of one member: a founding member of the topology, or (with `join`) a member joining it. */
export function memberFlags(
  t: LocalTopology,
  m: LocalMember,
  extra: readonly string[] = [],
  joining?: JoinAs,
): string[] {
  const listed = joining ? [...joining.existing.filter((x) => x.name !== m.name), m] : t.members;
  const initialCluster = listed.map((x) => `${x.name}=${x.peerUrl}`).join(',');
  return [
    `--name=${m.name}`,
    `--data-dir=${memberDataDir(m)}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${t.token}`,
    `--initial-cluster-state=${joining ? 'existing' : 'new'}`,
    ...(t.tls ? tlsFlags(t.tls, m.name) : []),
    ...(m.metricsUrl !== undefined ? [`--listen-metrics-urls=${m.metricsUrl}`] : []),
    ...extra,
  ];
}
