/**
 * A plain gRPC client of Cairn's MembershipService (proto/cairn/v1/membership.proto, decoded
 * as proto-loader does: snake_case fields, int64 as numbers, enums as numbers) for the tests,
 * and a subscriber that rebuilds a balancer's view from a Subscribe stream and can resume it
 * on another member from the last revision it saw.
 */
import * as grpc from '@grpc/grpc-js';
import { cairnService } from '../../src/common/proto-loader.js';
import type { CallError, Wire } from './etcd-grpc.js';

/** InstanceState numbers. */
export const SERVING = 1;
export const DRAINING = 2;
export const DOWN = 3;
/** ChangeType numbers. */
export const UPSERT = 1;
export const DELETE = 2;

/** A MembershipService client of one member (host:port). */
export function membershipClient(endpoint: string): grpc.Client {
  const ctor = cairnService('membership.proto', 'MembershipService');
  return new ctor(endpoint, grpc.credentials.createInsecure());
}

/** One change a subscriber saw: at which revision, what happened to which instance. */
export interface SeenChange {
  readonly revision: number;
  readonly type: number;
  readonly id: string;
  readonly state: number;
  readonly instance: Wire;
}

/**
 * A subscriber that keeps a view (service/instance id -> instance) and the list of changes
 * it saw. attach() opens a stream on a member (with a snapshot the first time, from the last
 * revision + 1 afterwards); the promise it returns settles when that stream ends.
 */
export class ViewSubscriber {
  readonly view = new Map<string, Wire>();
  readonly changes: SeenChange[] = [];
  /** The revision of the last complete message (0 before the snapshot is complete). */
  lastRevision = 0;
  snapshotRevision = 0;
  /** Messages that broke the stream's promises (a revision not above the last one). */
  readonly violations: string[] = [];
  private call: grpc.ClientReadableStream<Wire> | undefined;
  private pendingSnapshot: Wire[] = [];

  constructor(
    private readonly service: string,
    private readonly prefix = false,
  ) {}

  /** Streams from a member until the stream fails (resolves with the error) or is cancelled. */
  attach(client: grpc.Client): Promise<CallError | undefined> {
    const from = this.lastRevision === 0 ? 0 : this.lastRevision + 1;
    const call = (client as Wire).Subscribe({
      service: this.service,
      prefix: this.prefix,
      from_revision: from,
    }) as grpc.ClientReadableStream<Wire>;
    this.call = call;
    call.on('data', (m: Wire) => this.take(m));
    return new Promise((resolve) => {
      call.on('error', (err: CallError) => resolve(err));
      call.on('end', () => resolve(undefined));
    });
  }

  /** Cancels the current stream. */
  cancel(): void {
    this.call?.cancel();
  }

  private take(m: Wire): void {
    if ((m.snapshot as Wire[]).length > 0 || m.snapshot_done) {
      this.pendingSnapshot.push(...m.snapshot);
      if (m.snapshot_done) {
        this.view.clear();
        for (const i of this.pendingSnapshot) this.view.set(`${i.service}/${i.instance_id}`, i);
        this.pendingSnapshot = [];
        this.snapshotRevision = m.revision;
        this.lastRevision = m.revision;
      }
      return;
    }
    if (m.revision <= this.lastRevision)
      this.violations.push(`revision ${m.revision} after ${this.lastRevision}`);
    for (const c of m.changes as Wire[]) {
      const id = `${c.instance.service}/${c.instance.instance_id}`;
      this.changes.push({
        revision: m.revision,
        type: c.type,
        id,
        state: c.instance.state,
        instance: c.instance,
      });
      if (c.type === UPSERT) this.view.set(id, c.instance);
      else this.view.delete(id);
    }
    this.lastRevision = m.revision;
  }
}
