/**
 * Asks every other member for its Maintenance.Status over its peer URL (each member serves
 * Status there besides the client URL; see peer-services.ts), once per interval: the
 * dashboard shows what each member says of itself, and the time a call takes is the peer
 * round trip (etcd_network_peer_round_trip_time_seconds, which etcd measures with its own
 * prober). One channel per peer, reused; at most one call per peer in flight.
 */
import type * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../../common/proto-loader.js';
import { type PeerCredentials, peerDialCredentials } from '../../common/tls.js';

/** What a member said about itself. */
export interface PeerStatus {
  readonly memberId: number;
  readonly leader: number;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly dbSizeBytes: number;
  readonly isLearner: boolean;
  readonly errors: readonly string[];
}

/** The last answer (or failure) of one peer. */
export interface PeerProbe {
  readonly id: number;
  readonly peerUrl: string;
  /** When the answer (or the failure) came, ms since the epoch. */
  readonly atUnixMs: number;
  readonly status?: PeerStatus;
  /** Why the last call failed. */
  readonly error?: string;
  readonly rttSeconds?: number;
}

/** A peer to ask. */
export interface PeerTarget {
  readonly id: number;
  readonly peerUrl: string;
}

/** How the poller runs. */
export interface PeerStatusPollerOptions {
  readonly peers: () => readonly PeerTarget[];
  readonly intervalMs: number;
  readonly callTimeoutMs: number;
  readonly credentials: PeerCredentials;
  /** Told the round trip of each answered call. */
  readonly onRoundTrip?: (peerId: number, seconds: number) => void;
}

type StatusCall = (
  req: object,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void,
) => void;

interface Channel {
  readonly url: string;
  readonly client: grpc.Client;
  busy: boolean;
}

function targetOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

function statusOf(res: Record<string, unknown>): PeerStatus {
  const header = (res.header ?? {}) as Record<string, unknown>;
  return {
    memberId: Number(header.member_id ?? 0),
    leader: Number(res.leader ?? 0),
    term: Number(res.raftTerm ?? 0),
    commitIndex: Number(res.raftIndex ?? 0),
    appliedIndex: Number(res.raftAppliedIndex ?? 0),
    dbSizeBytes: Number(res.dbSize ?? 0),
    isLearner: res.isLearner === true,
    errors: Array.isArray(res.errors) ? res.errors.map(String) : [],
  };
}

/** Polls the other members' Status. */
export class PeerStatusPoller {
  private readonly channels = new Map<number, Channel>();
  private readonly probes = new Map<number, PeerProbe>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: PeerStatusPollerOptions) {}

  /** Starts polling (the first round at once). */
  start(): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** The latest answer of each current peer. */
  latest(): PeerProbe[] {
    return [...this.probes.values()];
  }

  /** Stops polling and closes the channels. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const ch of this.channels.values()) ch.client.close();
    this.channels.clear();
  }

  private poll(): void {
    if (this.stopped) return;
    const peers = this.opts.peers();
    const current = new Set(peers.map((p) => p.id));
    for (const [id, ch] of this.channels)
      if (!current.has(id)) {
        ch.client.close();
        this.channels.delete(id);
        this.probes.delete(id);
      }
    for (const p of peers) this.ask(p);
  }

  private channelOf(p: PeerTarget): Channel {
    const known = this.channels.get(p.id);
    if (known && known.url === p.peerUrl) return known;
    known?.client.close();
    const { Maintenance } = etcdServices();
    const ch: Channel = {
      url: p.peerUrl,
      client: new Maintenance(targetOf(p.peerUrl), peerDialCredentials(p.peerUrl, this.opts.credentials)),
      busy: false,
    };
    this.channels.set(p.id, ch);
    return ch;
  }

  private ask(p: PeerTarget): void {
    const ch = this.channelOf(p);
    if (ch.busy) return;
    ch.busy = true;
    const startedNs = process.hrtime.bigint();
    const status = (ch.client as unknown as { Status: StatusCall }).Status;
    status.call(ch.client, {}, { deadline: Date.now() + this.opts.callTimeoutMs }, (err, res) => {
      ch.busy = false;
      if (this.stopped || this.channels.get(p.id) !== ch) return;
      const atUnixMs = Date.now();
      if (err) {
        this.probes.set(p.id, { id: p.id, peerUrl: p.peerUrl, atUnixMs, error: err.details || err.message });
        return;
      }
      const rttSeconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
      this.opts.onRoundTrip?.(p.id, rttSeconds);
      this.probes.set(p.id, { id: p.id, peerUrl: p.peerUrl, atUnixMs, status: statusOf(res), rttSeconds });
    });
  }
}
