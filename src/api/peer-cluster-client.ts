/**
 * Calls to the Cluster service that every member also serves on its peer URL (as etcd serves
 * its member list to peers): a member joining with --initial-cluster-state existing learns
 * the cluster id, its own id and everyone's peer URLs there, and a follower asked to promote
 * a learner hands the request to the leader, the only member that knows how far it is.
 */
import type * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { etcdServices } from '../common/proto-loader.js';
import { type PeerCredentials, peerDialCredentials } from '../common/tls.js';
import type { MemberInfo } from './cluster-info.js';

/** What a peer said about the cluster. */
export interface ClusterFromPeer {
  readonly clusterId: number;
  readonly members: readonly MemberInfo[];
}

interface WireMember {
  ID: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

type Unary = (
  req: object,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: never) => void,
) => void;

function targetOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

async function call<Res>(
  url: string,
  method: string,
  req: object,
  timeoutMs: number,
  peerTls: PeerCredentials | undefined,
): Promise<Res> {
  const { Cluster } = etcdServices();
  const client = new Cluster(targetOf(url), peerDialCredentials(url, peerTls));
  try {
    return await new Promise<Res>((resolve, reject) => {
      (client as unknown as Record<string, Unary>)[method]!.call(
        client,
        req,
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res as Res)),
      );
    });
  } finally {
    client.close();
  }
}

/** Asks one peer for the cluster id and the member list. */
export async function clusterFromPeer(
  peerUrl: string,
  timeoutMs: number,
  peerTls?: PeerCredentials,
): Promise<ClusterFromPeer> {
  const res = await call<{ header: { cluster_id: number }; members: WireMember[] }>(
    peerUrl,
    'MemberList',
    {},
    timeoutMs,
    peerTls,
  );
  return {
    clusterId: res.header.cluster_id,
    members: res.members.map((m) => ({
      id: m.ID,
      name: m.name,
      peerUrls: m.peerURLs,
      clientUrls: m.clientURLs,
      isLearner: m.isLearner,
    })),
  };
}

/**
 * Asks the given peers in turn, until `deadlineMs`, for a member list that holds a member with
 * one of `ownPeerUrls` (it was added with MemberAdd): returns the cluster and that member.
 */
export async function findSelfInCluster(
  peerUrls: readonly string[],
  ownPeerUrls: readonly string[],
  deadlineMs: number,
  log: Logger,
  peerTls?: PeerCredentials,
): Promise<{ cluster: ClusterFromPeer; self: MemberInfo }> {
  const until = performance.now() + deadlineMs;
  let last = 'no peer to ask: --initial-cluster lists no other member';
  for (;;) {
    for (const url of peerUrls) {
      try {
        const cluster = await clusterFromPeer(url, 2_000, peerTls);
        const self = cluster.members.find((m) => m.peerUrls.some((u) => ownPeerUrls.includes(u)));
        if (self) return { cluster, self };
        last = `the cluster (asked at ${url}) has no member with peer URLs ${ownPeerUrls.join(',')}: add it with "member add" first`;
      } catch (err) {
        last = `${url}: ${(err as Error).message}`;
      }
    }
    if (performance.now() >= until) throw new CairnError(ErrorCode.INVALID_ARGUMENT, `cannot join: ${last}`);
    log.info({ reason: last }, 'waiting to join the cluster');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Sends a MemberPromote to the leader's peer URL; its answer (or error) is the caller's. */
export async function promoteViaPeer(
  leaderPeerUrl: string,
  id: number,
  timeoutMs: number,
  peerTls?: PeerCredentials,
): Promise<void> {
  await call(leaderPeerUrl, 'MemberPromote', { ID: id }, timeoutMs, peerTls);
}
