/** The ResponseHeader every etcd response carries (cluster_id, member_id, revision, raft_term). */
import type { ClusterInfo } from './cluster-info.js';
import type { StatusSource } from './status-source.js';

/** etcd's ResponseHeader as it goes on the wire (keepCase field names). */
export interface WireHeader {
  cluster_id: number;
  member_id: number;
  revision: number;
  raft_term: number;
}

/** Builds the header from the cluster's identity and the node's live state. */
export function responseHeader(info: ClusterInfo, s: StatusSource): WireHeader {
  return { cluster_id: info.clusterId, member_id: info.memberId, revision: s.revision, raft_term: s.term };
}
