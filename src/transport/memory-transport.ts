/**
 * The in-memory twin of the gRPC transport, for tests: members of one process exchange raft
 * messages through a hub, asynchronously (never within the sender's call), and tests can
 * take members down or cut links.
 */
import type { Message, NodeId } from '../raft/types.js';

/** Where the hub delivers a member's incoming messages. */
export interface MemoryEndpoint {
  onMessage(m: Message): void;
}

/** Connects in-process members; a member that is down neither sends nor receives. */
export class MemoryTransportHub {
  private readonly endpoints = new Map<NodeId, MemoryEndpoint>();
  /** Members that are down (crashed or isolated). */
  readonly down = new Set<NodeId>();
  /** Directed links that drop everything: "from>to". */
  readonly cut = new Set<string>();

  /** Registers where a member's messages go (replacing an earlier registration). */
  register(id: NodeId, endpoint: MemoryEndpoint): void {
    this.endpoints.set(id, endpoint);
  }

  /** The transport a member sends with: the same shape as GrpcTransport's. */
  transportFor(from: NodeId): {
    send(msgs: readonly Message[]): void;
    addPeer(): void;
    removePeer(): void;
    stop(): Promise<void>;
  } {
    return {
      send: (msgs) => {
        for (const m of msgs) {
          setImmediate(() => {
            if (this.down.has(from) || this.down.has(m.to) || this.cut.has(`${from}>${m.to}`)) return;
            this.endpoints.get(m.to)?.onMessage(m);
          });
        }
      },
      addPeer: () => {},
      removePeer: () => {},
      stop: async () => {},
    };
  }
}
