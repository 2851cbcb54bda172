// Proves that a WatchResponse put together from pieces encoded once (header, watch id, each event) decodes exactly as the same response serialized whole, with and without prev_kv, for puts and deletes; that an event shared by watchers is encoded once; and that the Watch definition passes such bytes through while still serializing objects.
import { describe, expect, it } from 'vitest';
import { serviceDefinitions } from '../../src/api/definitions.js';
import { WatchResponseEncoder, type WatchResponseSerializer } from '../../src/api/watch-encoding.js';
import { eventToWire, watchResponse } from '../../src/api/watch-wire.js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { EventType, type KeyValue, type MvccEvent } from '../../src/mvcc/index.js';

const method = etcdServices().Watch.service.Watch!;
const serialize = method.responseSerialize as WatchResponseSerializer;
const decode = (b: Buffer): unknown => method.responseDeserialize(b);

const kv = (key: string, value: string, modRevision: number, version: number, lease = 0): KeyValue => ({
  key: new TextEncoder().encode(key),
  createRevision: 2,
  modRevision,
  version,
  value: new TextEncoder().encode(value),
  lease,
});

const EVENTS: MvccEvent[] = [
  { type: EventType.Put, kv: kv('a', 'first', 7, 1, 0x1234_5678_9abc) },
  { type: EventType.Put, kv: kv('b', 'x'.repeat(300), 7, 3), prevKv: kv('b', 'older', 5, 2) },
  { type: EventType.Delete, kv: { ...kv('c', '', 7, 0), createRevision: 0 }, prevKv: kv('c', 'gone', 4, 1) },
];
const HEADER = { cluster_id: 0x1a2b_3c4d_5e6f, member_id: 77, revision: 7, raft_term: 3 };

describe('WatchResponseEncoder', () => {
  it('encodes a response that decodes as the whole one does', () => {
    const counted: WatchResponseSerializer = (r) => serialize(r);
    const encoder = new WatchResponseEncoder(counted);
    for (const withPrevKv of [false, true])
      for (const watchId of [0, 1, 9_000_000_000])
        for (const events of [EVENTS, EVENTS.slice(1, 2), []]) {
          const pieces = encoder.eventsResponse(HEADER, encoder.watchIdField(watchId), events, withPrevKv);
          const whole = serialize(
            watchResponse(HEADER, watchId, { events: events.map((ev) => eventToWire(ev, withPrevKv)) }),
          );
          expect(decode(pieces), `watch ${watchId}, prev_kv ${withPrevKv}`).toEqual(decode(whole));
        }
  });

  it('encodes an event once for every watcher that gets it, and a header once per revision', () => {
    let calls = 0;
    const encoder = new WatchResponseEncoder((r) => {
      calls++;
      return serialize(r);
    });
    const ids = Array.from({ length: 100 }, (_, i) => encoder.watchIdField(i + 1));
    calls = 0;
    for (const id of ids) encoder.eventsResponse(HEADER, id, EVENTS.slice(0, 2), false);
    expect(calls).toBe(3); // the header and two events
    for (const id of ids) encoder.eventsResponse({ ...HEADER, revision: 8 }, id, EVENTS.slice(0, 2), true);
    expect(calls).toBe(5); // the new header, and the event whose prev_kv now goes along
  });

  it('is served by a Watch definition that passes bytes through and serializes objects', () => {
    const served = serviceDefinitions().watch.Watch!;
    const bytes = Buffer.from([0x10, 0x05]); // watch_id = 5
    expect(served.responseSerialize(bytes)).toBe(bytes);
    const object = watchResponse(HEADER, 5, { created: true });
    expect(decode(served.responseSerialize(object))).toEqual(decode(serialize(object)));
  });
});
