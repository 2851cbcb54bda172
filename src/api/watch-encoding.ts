/**
 * WatchResponses encoded once for many watchers (gRPC-Go's PreparedMsg, for the watch
 * fan-out). An event that a thousand watchers wait for used to be converted and serialized a
 * thousand times, once per watcher's response. Protobuf lets a message be sent as the
 * concatenation of its fields' encodings, so a response is put together from pieces: its
 * header (the same for every watcher at a revision), its watch id (fixed per watcher) and
 * each event (the same object for every watcher that matched it, encoded once). The Watch
 * method's response serializer passes such ready bytes through unchanged.
 */
import type * as grpc from '@grpc/grpc-js';
import type { MvccEvent } from '../mvcc/index.js';
import type { WireHeader } from './header.js';
import { eventToWire, type WireWatchResponse } from './watch-wire.js';

/** Serializes a (partial) etcdserverpb.WatchResponse. */
export type WatchResponseSerializer = (response: Partial<WireWatchResponse>) => Buffer;

/** A service definition whose streaming method also takes ready-encoded responses (Buffers). */
export function acceptingEncodedResponses(
  service: grpc.ServiceDefinition,
  method: string,
): grpc.ServiceDefinition {
  const def = service[method];
  if (def === undefined) throw new Error(`the service has no method ${method}`);
  const serialize = def.responseSerialize;
  return {
    ...service,
    [method]: {
      ...def,
      responseSerialize: (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : serialize(value)),
    },
  };
}

/** Encodes the events responses of one member's watch streams, sharing what watchers share. */
export class WatchResponseEncoder {
  /** Each event's encoding as a response field, without and with its previous value. */
  private readonly events = new WeakMap<MvccEvent, [Buffer | undefined, Buffer | undefined]>();
  private lastHeader: { key: string; bytes: Buffer } = { key: '', bytes: Buffer.alloc(0) };

  constructor(private readonly serialize: WatchResponseSerializer) {}

  /** The encoding of a watch id as a response field (keep it per watcher: it does not change). */
  watchIdField(watchId: number): Buffer {
    return this.serialize({ watch_id: watchId });
  }

  /** A WatchResponse carrying events for one watcher, as the serializer would write it. */
  eventsResponse(
    header: WireHeader,
    watchIdField: Buffer,
    events: readonly MvccEvent[],
    withPrevKv: boolean,
  ): Buffer {
    const parts: Buffer[] = [this.headerField(header), watchIdField];
    for (const ev of events) parts.push(this.eventField(ev, withPrevKv));
    return Buffer.concat(parts);
  }

  private headerField(header: WireHeader): Buffer {
    const key = `${header.cluster_id} ${header.member_id} ${header.revision} ${header.raft_term}`;
    if (this.lastHeader.key !== key) this.lastHeader = { key, bytes: this.serialize({ header }) };
    return this.lastHeader.bytes;
  }

  private eventField(ev: MvccEvent, withPrevKv: boolean): Buffer {
    let cached = this.events.get(ev);
    if (cached === undefined) {
      cached = [undefined, undefined];
      this.events.set(ev, cached);
    }
    const slot = withPrevKv && ev.prevKv !== undefined ? 1 : 0;
    let bytes = cached[slot];
    if (bytes === undefined) {
      bytes = this.serialize({ events: [eventToWire(ev, slot === 1)] });
      cached[slot] = bytes;
    }
    return bytes;
  }
}
