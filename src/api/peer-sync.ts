/**
 * Keeps the peer transport aimed at the registry's members: a member added gets a link to
 * its peer URL, a member re-addressed by MemberUpdate is moved, a removed member loses its
 * link. Until this member finds itself in its registry (a joining member still catching
 * up), the members it was told of at start-up stay reachable too, so it can answer the leader.
 */
import type { FoundingMember, MemberRegistry } from '../node/member-registry.js';
import type { Transport } from '../transport/transport.js';

/** Re-aims the transport after every registry change. */
export class PeerSync {
  /** The peers the transport has now, by id, with their URL. */
  private readonly linked = new Map<number, string>();

  constructor(
    private readonly transport: Pick<Transport, 'addPeer' | 'removePeer'>,
    private readonly registry: MemberRegistry,
    private readonly selfId: number,
    private readonly known: readonly FoundingMember[],
  ) {}

  /** Adds, moves and removes peers so the transport matches the registry. */
  sync(): void {
    const wanted = new Map<number, string>();
    if (!this.registry.get(this.selfId)) {
      for (const m of this.known) if (m.peerUrls[0] !== undefined) wanted.set(m.id, m.peerUrls[0]);
    }
    for (const m of this.registry.list()) if (m.peerUrls[0] !== undefined) wanted.set(m.id, m.peerUrls[0]);
    wanted.delete(this.selfId);
    for (const [id] of wanted) if (this.registry.isRemoved(id)) wanted.delete(id);
    for (const [id, url] of wanted) {
      if (this.linked.get(id) === url) continue;
      this.transport.addPeer(id, url);
      this.linked.set(id, url);
    }
    for (const id of [...this.linked.keys()]) {
      if (wanted.has(id)) continue;
      this.transport.removePeer(id);
      this.linked.delete(id);
    }
  }
}
