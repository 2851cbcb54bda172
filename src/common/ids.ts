/**
 * Member and cluster ids derived as etcd derives them: a member's id from its peer URLs
 * and the cluster token, the cluster's id from its members' ids. Kept below 2^53 so they
 * are exact JavaScript numbers end to end (on the wire they are uint64).
 */
import { createHash } from 'node:crypto';

const SAFE_BITS_MASK = 2 ** 52;

function hash52(input: string): number {
  const digest = createHash('sha256').update(input).digest();
  // 52 bits: a positive safe integer, never 0.
  const hi = digest.readUInt32BE(0) & 0xfffff;
  const lo = digest.readUInt32BE(4);
  const id = hi * 2 ** 32 + lo;
  return id === 0 ? 1 : id % SAFE_BITS_MASK;
}

/** The id of a member, from its sorted peer URLs and the cluster token. */
export function memberIdOf(peerUrls: readonly string[], clusterToken: string): number {
  return hash52(`member|${[...peerUrls].sort().join(',')}|${clusterToken}`);
}

/** The id of a cluster, from its founding members' ids. */
export function clusterIdOf(memberIds: readonly number[], clusterToken: string): number {
  return hash52(`cluster|${[...memberIds].sort((a, b) => a - b).join(',')}|${clusterToken}`);
}

/**
 * The id of a member added at run time: as etcd's, its peer URLs and the cluster token plus
 * the time of the request, so a member removed and added again at the same URLs gets a new
 * id. The proposing member chooses it; every member applies the same id from the log.
 */
export function addedMemberIdOf(peerUrls: readonly string[], clusterToken: string, nowMs: number): number {
  return hash52(`member|${[...peerUrls].sort().join(',')}|${clusterToken}|${Math.floor(nowMs)}`);
}
