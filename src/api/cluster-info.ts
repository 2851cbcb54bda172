/** What the API layer knows about the cluster's members, from the configuration the server started with. */

/** One member as MemberList reports it. */
export interface MemberInfo {
  readonly id: number;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

/** The server's identity and its view of the membership. */
export interface ClusterInfo {
  readonly clusterId: number;
  readonly memberId: number;
  readonly members: readonly MemberInfo[];
}
