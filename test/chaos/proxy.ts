/**
 * The network between members, made of TCP proxies the harness controls: one per ordered
 * pair (from, to), listening on a loopback port, forwarding to `to`'s peer port. Member
 * `from` dials `to` through it (CAIRN_FAULT_PEER_DIAL, src/transport/dial-redirect.ts), so
 * raft traffic from `from` to `to` crosses only this proxy. Cutting a pair tears down its
 * connections and black-holes new ones (accepted, never answered: the sender finds out by
 * timeouts, as across a real partition); healing drops the black-holed ones so the sender
 * reconnects.
 */
import { createServer, type Server, Socket } from 'node:net';
import { freeLoopbackPort } from '../../cluster/processes.js';

/** The proxy on one direction of one member pair. */
export class PairProxy {
  private server: Server | undefined;
  private readonly live = new Set<Socket>();
  private readonly held = new Set<Socket>();
  private cut = false;
  /** Connections accepted so far (forwarded or black-holed). */
  accepted = 0;
  port = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    private readonly targetPort: number,
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

  /** Heals the path: black-holed connections are dropped, new ones are forwarded. */
  heal(): void {
    this.cut = false;
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
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }
}

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

  /** Heals every pair. */
  healAll(): void {
    for (const p of this.proxies.values()) if (p.isCut) p.heal();
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
