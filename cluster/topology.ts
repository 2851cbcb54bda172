/**
 * The shape of a local cluster: member names, ports and flags. One place decides it for
 * cluster/start.sh, `npm start` and the tests (which pass free ports instead of the
 * defaults, so a running cluster and the tests never collide).
 */
import { join } from 'node:path';

/** One member of a local cluster. */
export interface LocalMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
}

/** A local cluster's members and the flags each is started with. */
export interface LocalTopology {
  readonly members: readonly LocalMember[];
  readonly token: string;
  readonly rootDir: string;
}

/** The default ports, as etcd's documentation uses for a local three-member cluster. */
export const DEFAULT_PORTS: readonly { client: number; peer: number }[] = [
  { client: 2379, peer: 2380 },
  { client: 22379, peer: 22380 },
  { client: 32379, peer: 32380 },
];

/** Builds a topology over the given ports (defaults: DEFAULT_PORTS) with data under rootDir. */
export function localTopology(rootDir: string, ports = DEFAULT_PORTS, token = 'cairn-local'): LocalTopology {
  const members = ports.map((p, i) => localMember(rootDir, `n${i + 1}`, p));
  return { members, token, rootDir };
}

/** One member named `name` on the given ports, with its data under rootDir. */
export function localMember(
  rootDir: string,
  name: string,
  ports: { client: number; peer: number },
): LocalMember {
  return {
    name,
    clientPort: ports.client,
    peerPort: ports.peer,
    dataDir: join(rootDir, name),
    clientUrl: `http://127.0.0.1:${ports.client}`,
    peerUrl: `http://127.0.0.1:${ports.peer}`,
  };
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
    `--data-dir=${join(m.dataDir, 'data')}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${t.token}`,
    `--initial-cluster-state=${joining ? 'existing' : 'new'}`,
    ...extra,
  ];
}
