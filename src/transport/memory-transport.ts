/**
 * The in-memory twin of the gRPC transport, for tests: members of one process exchange raft
 * messages through a hub, in order per sender and receiver, never within the sender's call
 * (each delivery is a setImmediate task, as a network would interleave). Tests take members
 * down, cut links, partition the cluster or drop chosen messages; a dropped message is
 * reported to its sender as unreachable, a Snap's outcome as its snapshot status, as the
 * real transport reports them.
 */
import { assert } from '../common/assert.js';
import { collectBytes, type LazyBytes } from '../common/lazy-bytes.js';
import { type Message, MessageType, type NodeId } from '../raft/types.js';
import type { Transport, TransportHandler } from './transport.js';

/** Where the hub delivers a member's incoming messages; the reports are optional. */
export type MemoryEndpoint = Pick<TransportHandler, 'onMessage'> & Partial<TransportHandler>;

/** Decides whether the hub drops a message (true: drop). */
export type DropFilter = (m: Message) => boolean;

/** Connects in-process members; a member that is down neither sends nor receives. */
export class MemoryTransportHub {
  private readonly endpoints = new Map<NodeId, MemoryEndpoint>();
  /** Members that are down (crashed or isolated). */
  readonly down = new Set<NodeId>();
  /** Directed links that drop everything, as "from>to". */
  readonly cut = new Set<string>();
  /**
   * Directed links, as "from>to", whose sender refuses to queue (as a real transport does while
   * its stream is down): messages never leave and are handed back through onDropped.
   */
  readonly refused = new Set<string>();
  private dropFilter: DropFilter | undefined;

  /** Registers where a member's messages go (replacing an earlier registration). */
  register(id: NodeId, endpoint: MemoryEndpoint): void {
    this.endpoints.set(id, endpoint);
  }

  /** Removes a member's registration, if it is still this endpoint's. */
  unregister(id: NodeId, endpoint: MemoryEndpoint): void {
    if (this.endpoints.get(id) === endpoint) this.endpoints.delete(id);
  }

  /**
   * A transport that sends as `from` to any registered member, without addPeer, and
   * reports to whatever endpoint `from` registered (the node tests' wiring).
   */
  transportFor(from: NodeId): MemoryTransport {
    return new MemoryTransport(this, from);
  }

  /**
   * A full twin of GrpcTransport for member `id`: start() registers the handler, only peers
   * added with addPeer are reachable, and drops are reported to the handler.
   */
  join(id: NodeId, handler: TransportHandler): MemoryTransport {
    return new MemoryTransport(this, id, handler);
  }

  /** Cuts every link between members of different groups, both ways. */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    for (const [i, a] of groups.entries()) {
      for (const [j, b] of groups.entries()) {
        if (i === j) continue;
        for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`);
      }
    }
  }

  /** Drops every message the filter selects (undefined: none). */
  setDropFilter(filter: DropFilter | undefined): void {
    this.dropFilter = filter;
  }

  /** Restores every link and member and removes the drop filter. */
  heal(): void {
    this.cut.clear();
    this.refused.clear();
    this.down.clear();
    this.dropFilter = undefined;
  }

  /** Whether a message would reach its addressee now. */
  reaches(m: Message): boolean {
    return (
      !this.down.has(m.from) &&
      !this.down.has(m.to) &&
      !this.cut.has(`${m.from}>${m.to}`) &&
      this.endpoints.has(m.to) &&
      this.dropFilter?.(m) !== true
    );
  }

  /** The endpoint registered for a member. */
  endpoint(id: NodeId): MemoryEndpoint | undefined {
    return this.endpoints.get(id);
  }
}

/** One member's transport on a hub; implements the same contract as GrpcTransport. */
export class MemoryTransport implements Transport {
  private readonly peers = new Map<NodeId, string>();
  private started = false;
  private stopped = false;

  /** With a handler (hub.join), peers must be added; without one (hub.transportFor), every member is a peer. */
  constructor(
    private readonly hub: MemoryTransportHub,
    private readonly selfId: NodeId,
    private readonly handler?: TransportHandler,
  ) {}

  /** Registers the handler with the hub (join only): from now on this member receives. */
  async start(): Promise<void> {
    if (this.stopped) throw new Error('MemoryTransport: start() after stop()');
    if (this.handler !== undefined) this.hub.register(this.selfId, this.handler);
    this.started = true;
  }

  /** Delivers each message in a task of its own; never blocks, never throws. */
  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      if (
        (this.handler !== undefined && !this.peers.has(m.to)) ||
        this.hub.refused.has(`${m.from}>${m.to}`)
      ) {
        this.report(m, false, true);
        continue;
      }
      setImmediate(() => {
        if (this.stopped) return;
        const ok = this.hub.reaches(m);
        if (ok) this.hub.endpoint(m.to)!.onMessage(m);
        this.report(m, ok);
      });
    }
  }

  /** Sends a Snap message with its data made whole first (tests move small snapshots). */
  sendSnapshot(m: Message, data: LazyBytes): void {
    assert(m.snapshot !== undefined, 'a Snap message carries its snapshot metadata');
    this.send([{ ...m, snapshot: { metadata: m.snapshot.metadata, data: collectBytes(data) } }]);
  }

  /** Makes a peer reachable (its URL is only remembered). */
  addPeer(id: NodeId, url: string): void {
    this.peers.set(id, url);
  }

  /** Makes a peer unreachable. */
  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }

  /** Remembers a peer's new URL. */
  updatePeer(id: NodeId, url: string): void {
    this.peers.set(id, url);
  }

  /** Stops sending and receiving; nothing is reported afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handler !== undefined && this.started) this.hub.unregister(this.selfId, this.handler);
  }

  /** Tells the sender's endpoint what became of a message (`neverLeft`: refused before sending), as the real transport would. */
  private report(m: Message, delivered: boolean, neverLeft = false): void {
    const isSnap = m.type === MessageType.Snap;
    const to = this.handler ?? this.hub.endpoint(this.selfId);
    if (to === undefined || (delivered && !isSnap)) return;
    queueMicrotask(() => {
      if (this.stopped) return;
      if (!delivered) to.onUnreachable?.(m.to);
      if (neverLeft) to.onDropped?.(m);
      if (isSnap) to.onSnapshotStatus?.(m.to, delivered);
    });
  }
}
