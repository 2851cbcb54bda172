// Proves the Watch wire helpers agree with protobuf: the computed size of a WatchResponse equals the length of its real encoding (so the fragment limit is measured right), fragments keep every event in order, and create requests are read as etcd reads them.
import { describe, expect, test } from 'vitest';
import { serviceDefinitions } from '../../src/api/definitions.js';
import {
  createFromWire,
  eventToWire,
  fragmentsOf,
  isEmptyRange,
  watchResponse,
  wireResponseBytes,
} from '../../src/api/watch-wire.js';
import { EventType, type MvccEvent } from '../../src/mvcc/index.js';

const enc = (s: string) => Buffer.from(s);
const serialize = (r: unknown): Buffer =>
  (
    serviceDefinitions().watch.Watch as unknown as { responseSerialize(v: unknown): Buffer }
  ).responseSerialize(r);

function put(key: string, value: string, rev: number, prev?: string): MvccEvent {
  const kv = { key: enc(key), createRevision: 2, modRevision: rev, version: 3, value: enc(value), lease: 0 };
  return prev === undefined
    ? { type: EventType.Put, kv }
    : { type: EventType.Put, kv, prevKv: { ...kv, modRevision: rev - 1, value: enc(prev), lease: 2 ** 40 } };
}

const header = { cluster_id: 2 ** 52 + 3, member_id: 12345678901, revision: 300, raft_term: 7 };

describe('watch wire', () => {
  test('the computed size equals the encoded size', () => {
    const cases = [
      watchResponse(header, 0),
      watchResponse(header, -1),
      watchResponse(header, 5, {
        created: true,
        canceled: true,
        cancel_reason: 'mvcc: watcher range is empty',
      }),
      watchResponse(header, 3, { canceled: true, compact_revision: 1_000_000 }),
      watchResponse(header, 7, {
        fragment: true,
        events: [put('a', 'x'.repeat(200), 299, 'y'.repeat(130)), put('b', '', 300)].map((e) =>
          eventToWire(e, true),
        ),
      }),
      watchResponse(header, 8, {
        events: [
          {
            type: EventType.Delete,
            kv: {
              key: enc('d'),
              createRevision: 0,
              modRevision: 9,
              version: 0,
              value: new Uint8Array(0),
              lease: 0,
            },
          },
        ].map((e) => eventToWire(e as MvccEvent, false)),
      }),
    ];
    for (const r of cases) expect(wireResponseBytes(r)).toBe(serialize(r).length);
  });

  test('fragments hold every event once, in order, under the limit when single events fit', () => {
    const events = Array.from({ length: 30 }, (_, i) =>
      eventToWire(put(`k${i}`, 'v'.repeat(i * 7), 100 + i), false),
    );
    const whole = watchResponse(header, 1, { events });
    const parts = fragmentsOf(whole, 400);
    expect(parts.flatMap((p) => p.events)).toEqual(events);
    expect(parts.map((p) => p.fragment)).toEqual([...parts.slice(1).map(() => true), false]);
    for (const p of parts) expect(p.events.length === 1 || serialize(p).length < 400).toBe(true);
    expect(fragmentsOf(whole, 1_000_000)).toEqual([whole]);
  });

  test('create requests are read as etcd reads them', () => {
    const c = createFromWire({
      key: Buffer.alloc(0),
      range_end: Buffer.from([0]),
      filters: [0, 1],
      watch_id: 4,
    });
    expect([...c.options.key]).toEqual([0]);
    expect(c.options.noPut && c.options.noDelete).toBe(true);
    expect(c.watchId).toBe(4);
    expect(c.options.startRevision).toBe(0);
    expect(() => createFromWire({ key: enc('k'), start_revision: -1 })).toThrow(/out of range/);
    expect(isEmptyRange(enc('b'), enc('a'))).toBe(true);
    expect(isEmptyRange(enc('b'), enc('b'))).toBe(true);
    expect(isEmptyRange(enc('b'), Buffer.from([0]))).toBe(false);
    expect(isEmptyRange(enc('b'), new Uint8Array(0))).toBe(false);
  });
});
