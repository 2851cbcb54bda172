/**
 * Why a member refuses what a peer sent. The codec and the snapshot assembler throw these;
 * the RaftPeer server turns them into gRPC statuses, so a sender's logs say exactly why.
 */

/** Stable reasons for refusing a peer's request. */
export const RefusalReason = {
  /** The sender belongs to another cluster. */
  WRONG_CLUSTER: 'WRONG_CLUSTER',
  /** The request is addressed to another member. */
  WRONG_MEMBER: 'WRONG_MEMBER',
  /** The request breaks the wire contract (unsafe integer, local message type, missing field). */
  INVALID: 'INVALID',
  /** A snapshot is larger than this member accepts, or too many arrive at once. */
  TOO_LARGE: 'TOO_LARGE',
  /** A snapshot's data fails its checksum or its declared size. */
  CORRUPT: 'CORRUPT',
  /** The sender was removed from the cluster (etcd answers such a member 410 Gone). */
  MEMBER_REMOVED: 'MEMBER_REMOVED',
} as const;

/** What a member that was removed is told; a sender that hears it stops itself. */
export const MEMBER_REMOVED_MESSAGE = 'the member has been permanently removed from the cluster';

/** A stable refusal reason. */
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

/** A refusal of a peer's request, with its stable reason. */
export class PeerRefusal extends Error {
  override readonly name = 'PeerRefusal';

  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}
