/**
 * Who this member is at start-up: its member id, the cluster id, and the founding members
 * whose records the log's bootstrap entries name by id only. A member that has state on
 * disk finds itself in its own registry (by peer URL). A founding member of a new cluster
 * derives everything from --initial-cluster, as etcd does. A member joining a running
 * cluster (--initial-cluster-state existing) asks the other members listed in
 * --initial-cluster for the member list and finds the entry MemberAdd made for its peer URLs.
 */

import type { ServerConfig } from '../common/config.js';
import { clusterIdOf, memberIdOf } from '../common/ids.js';
import type { Logger } from '../common/logger.js';
import type { PeerCredentials } from '../common/tls.js';
import type { FoundingMember, MemberRegistry } from '../node/member-registry.js';
import { findSelfInCluster } from './peer-cluster-client.js';

/** This member's identity and what it knows of the members before its log says more. */
export interface Identity {
  readonly memberId: number;
  readonly clusterId: number;
  /** Founding members (new cluster) or the members the peers listed (joining). */
  readonly known: readonly FoundingMember[];
  /** Whether this member joins a running cluster with an empty log. */
  readonly joining: boolean;
}

/** How long a joining member keeps asking its peers for a member list that includes it. */
export const JOIN_DEADLINE_MS = 30_000;

/** The founding members of a new cluster, from --initial-cluster. */
export function foundingMembers(config: ServerConfig): FoundingMember[] {
  return config.initialCluster.map((m) => ({
    id: memberIdOf(m.peerUrls, config.initialClusterToken),
    name: m.name,
    peerUrls: m.peerUrls,
  }));
}

/** Works out this member's identity (see the file comment). */
export async function resolveIdentity(
  config: ServerConfig,
  registry: MemberRegistry,
  log: Logger,
  peerTls?: PeerCredentials,
): Promise<Identity> {
  const ownUrls = config.initialAdvertisePeerUrls;
  const founders = foundingMembers(config);
  const joining = config.initialClusterState === 'existing';
  const onDisk = registry.clusterId !== 0 ? registry.findByPeerUrls(ownUrls) : undefined;
  if (onDisk) {
    return { memberId: onDisk.id, clusterId: registry.clusterId, known: joining ? [] : founders, joining };
  }
  if (!joining) {
    const self = founders.find((m) => m.name === config.name);
    if (!self) throw new Error(`--initial-cluster does not contain this member's name "${config.name}"`);
    const clusterId = clusterIdOf(
      founders.map((m) => m.id),
      config.initialClusterToken,
    );
    return { memberId: self.id, clusterId, known: founders, joining };
  }
  const peers = config.initialCluster.flatMap((m) => m.peerUrls).filter((u) => !ownUrls.includes(u));
  const { cluster, self } = await findSelfInCluster(peers, ownUrls, JOIN_DEADLINE_MS, log, peerTls);
  log.info({ memberId: self.id, clusterId: cluster.clusterId }, 'joining a running cluster');
  return {
    memberId: self.id,
    clusterId: cluster.clusterId,
    known: cluster.members.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls })),
    joining,
  };
}
