/**
 * The network between members, made of TCP proxies the harness controls: one per ordered
 * pair (from, to), listening on a loopback port, forwarding to `to`'s peer port. Member
 * `from` dials `to` through it (CAIRN_FAULT_PEER_DIAL, src/transport/dial-redirect.ts), so
 * raft traffic from `from` to `to` crosses only this proxy. Cutting a pair tears down its
 * connections and black-holes new ones (accepted, never answered: the sender finds out by
 * timeouts, as across a real partition); healing drops the black-holed ones so the sender
 * reconnects. A pair can also be slowed: every chunk, both ways, is held for a latency plus
 * a random jitter (order kept). A one-way partition cuts one direction only (`from` loses
 * its messages to `to` while `to` still reaches `from`): each member sends raft messages
 * on connections it dials, so blocking the proxy from>to drops exactly `from`'s messages.
 */
import { createServer, type Server, Socket } from 'node:net';
import { freeLoopbackPort } from '../../cluster/processes.js';

/** The proxy on one direction of one member pair. */
export class PairProxy {
  private server: Server | undefined;
  private readonly live = new Set<Socket>();
  private readonly held = new Set<Socket>();
  private cut = false;
  private latencyMs = 0;
  private jitterMs = 0;
  /** Connections accepted so far (forwarded or black-holed). */
  accepted = 0;
  port = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    private readonly targetPort: number,
    /** Uniform in [0, 1): draws the jitter. */
    private readonly random: () => number = Math.random,
  ) {}

  /** Listens on a free loopback port (never one of the default ports). */
  async start(): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const port = await freeLoopbackPort();
      const server = createServer((s) => this.accept(s));
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (ok) {
        this.server = server;
        this.port = port;
        return;
      }
    }
    throw new Error(`proxy ${this.from}->${this.to}: no free port`);
  }

  /** Whether the pair is cut. */
  get isCut(): boolean {
    return this.cut;
  }

  /** Cuts the path: open connections are reset, new ones are black-holed. */
  block(): void {
    this.cut = true;
    for (const s of this.live) s.destroy();
    this.live.clear();
  }

  /** Holds every chunk, both ways, for latencyMs plus up to jitterMs more (0, 0: no delay). */
  slow(latencyMs: number, jitterMs: number): void {
    this.latencyMs = Math.max(0, latencyMs);
    this.jitterMs = Math.max(0, jitterMs);
  }

  /** Whether chunks are delayed. */
  get isSlow(): boolean {
    return this.latencyMs > 0 || this.jitterMs > 0;
  }

  /** Heals the path: black-holed connections are dropped, new ones are forwarded, no delay. */
  heal(): void {
    this.cut = false;
    this.latencyMs = 0;
    this.jitterMs = 0;
    for (const s of this.held) s.destroy();
    this.held.clear();
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const s of [...this.live, ...this.held]) s.destroy();
    this.live.clear();
    this.held.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => client.destroy());
    if (this.cut) {
      // Read and discard: the sender's writes succeed, nothing ever answers.
      this.held.add(client);
      client.on('data', () => {});
      client.once('close', () => this.held.delete(client));
      return;
    }
    const upstream = new Socket();
    upstream.on('error', () => upstream.destroy());
    this.live.add(client);
    this.live.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.live.delete(client);
      this.live.delete(upstream);
    };
    client.once('close', drop);
    upstream.once('close', drop);
    upstream.connect(this.targetPort, '127.0.0.1', () => {
      this.relay(client, upstream);
      this.relay(upstream, client);
    });
  }

  /** The delay for a chunk arriving now. */
  private delayMs(): number {
    return this.latencyMs + (this.jitterMs > 0 ? this.random() * this.jitterMs : 0);
  }

  /**
   * Copies src to dst, each chunk held for delayMs() but never overtaking an earlier one;
   * src is paused while dst pushes back or more than QUEUED_BYTES_MAX wait.
   */
  private relay(src: Socket, dst: Socket): void {
    const queue: { atMs: number; chunk: Buffer }[] = [];
    let queuedBytes = 0;
    let lastAtMs = 0;
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.atMs <= now) {
        const { chunk } = queue.shift()!;
        queuedBytes -= chunk.length;
        if (!dst.destroyed && !dst.write(chunk)) src.pause();
      }
      if (queue.length > 0) timer = setTimeout(flush, queue[0]!.atMs - now);
      if (queuedBytes <= QUEUED_BYTES_MAX && dst.writableLength === 0) src.resume();
    };
    src.on('data', (chunk: Buffer) => {
      const delay = this.delayMs();
      if (delay === 0 && queue.length === 0) {
        if (!dst.write(chunk)) src.pause();
        return;
      }
      lastAtMs = Math.max(lastAtMs, performance.now() + delay);
      queue.push({ atMs: lastAtMs, chunk });
      queuedBytes += chunk.length;
      if (queuedBytes > QUEUED_BYTES_MAX) src.pause();
      if (timer === undefined) timer = setTimeout(flush, lastAtMs - performance.now());
    });
    dst.on('drain', () => {
      if (queuedBytes <= QUEUED_BYTES_MAX) src.resume();
    });
    src.once('close', () => {
      if (timer !== undefined) clearTimeout(timer);
    });
  }
}

/** Bytes a slowed direction may hold before it stops reading its sender. */
const QUEUED_BYTES_MAX = 4 * 1024 * 1024;

/** Every pair proxy of a cluster, and partitions made of them. */
export class PeerNetwork {
  private readonly proxies = new Map<string, PairProxy>();

  constructor(private readonly peerPorts: ReadonlyMap<string, number>) {}

  /** Starts a proxy for every ordered pair of members. */
  async start(): Promise<void> {
    for (const from of this.peerPorts.keys())
      for (const [to, port] of this.peerPorts) {
        if (from === to) continue;
        const p = new PairProxy(from, to, port);
        await p.start();
        this.proxies.set(`${from}>${to}`, p);
      }
  }

  /** What member `from` should dial instead of each other member's peer URL. */
  dialTable(from: string, peerUrlOf: (name: string) => string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of this.proxies.values())
      if (p.from === from) out[peerUrlOf(p.to)] = `http://127.0.0.1:${p.port}`;
    return out;
  }

  /** Cuts both directions between every member of `a` and every member of `b`. */
  cut(a: readonly string[], b: readonly string[]): void {
    for (const x of a)
      for (const y of b) {
        this.proxies.get(`${x}>${y}`)?.block();
        this.proxies.get(`${y}>${x}`)?.block();
      }
  }

  /** Cuts one direction: `from`'s messages to each member of `to` are lost, theirs to `from` arrive. */
  cutOneWay(from: string, to: readonly string[]): void {
    for (const y of to) this.proxies.get(`${from}>${y}`)?.block();
  }

  /** Slows both directions between `member` and every other member (latency plus jitter per chunk). */
  slowMember(member: string, latencyMs: number, jitterMs: number): void {
    for (const p of this.proxies.values())
      if (p.from === member || p.to === member) p.slow(latencyMs, jitterMs);
  }

  /** Heals every pair (cuts and delays). */
  healAll(): void {
    for (const p of this.proxies.values()) if (p.isCut || p.isSlow) p.heal();
  }

  /** Connections accepted by all proxies (shows members really talk through them). */
  acceptedConnections(): number {
    let n = 0;
    for (const p of this.proxies.values()) n += p.accepted;
    return n;
  }

  /** Closes every proxy. */
  async close(): Promise<void> {
    for (const p of this.proxies.values()) await p.close();
    this.proxies.clear();
  }
}
