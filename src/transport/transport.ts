/**
 * The contract between the node runtime and whatever carries raft messages between members:
 * the gRPC transport in production, the in-memory twin in tests. The node hands messages to
 * send() from its Ready loop, so send() must return at once; what the network does with them
 * comes back through the handler (raft recovers from any loss by probing, thesis 3.5).
 */
import type { LazyBytes } from '../common/lazy-bytes.js';
import type { Message, NodeId } from '../raft/types.js';

/** Carries raft messages to peers; what the node needs from a transport. */
export interface Transport {
  /** Starts serving incoming messages (listens, or registers with a hub). */
  start(): Promise<void>;
  /** Queues messages to their peers; never blocks, never throws for network reasons. */
  send(messages: readonly Message[]): void;
  /**
   * Sends a Snap message (its m.snapshot.data left empty) with data made as it is sent, so a
   * large snapshot is never built in one piece; never blocks. The outcome is reported through
   * onSnapshotStatus.
   */
  sendSnapshot(m: Message, data: LazyBytes): void;
  /** Makes a peer reachable at a URL (a no-op if it already is, at that URL). */
  addPeer(id: NodeId, url: string): void;
  /** Forgets a peer; what was queued for it is dropped (snapshots report failure). */
  removePeer(id: NodeId): void;
  /** Moves a peer to a new URL (a member re-addressed by a configuration change). */
  updatePeer(id: NodeId, url: string): void;
  /** Closes every stream and stops serving; no handler call happens afterwards. */
  stop(): Promise<void>;
}

/** Where a transport delivers what it receives and reports what it could not send. */
export interface TransportHandler {
  /** An incoming message for this member, in arrival order per stream (the node steps raft with it). */
  onMessage(m: Message): void;
  /** A message to this peer was dropped (peer down, queue full): raft should probe it. */
  onUnreachable(id: NodeId): void;
  /**
   * The message itself, when it never left this member (its stream down or full, or it was too
   * large): a forwarded proposal in it was not appended anywhere. Optional.
   */
  onDropped?(m: Message): void;
  /** A snapshot sent to this peer arrived whole (true) or did not (false). */
  onSnapshotStatus(id: NodeId, ok: boolean): void;
  /** A connection to this peer was established (the peer is up); optional. */
  onPeerActive?(id: NodeId): void;
  /** An established connection to this peer broke (the peer may be down); optional. */
  onPeerDown?(id: NodeId): void;
}
