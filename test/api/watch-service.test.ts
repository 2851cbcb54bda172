// Proves the Watch service speaks etcd's Watch protocol over real gRPC: created replies in request order with the current revision, server- and client-chosen ids, etcd's created+canceled answers (duplicate id, empty range), compacted starts, cancel, prev_kv and filters, progress on request and periodically, fragments, InvalidArgument for out-of-range numbers and cleanup when the stream ends; and, with a scripted call object, that a progress request waits for every watcher to sync and a client that stops reading gets its watcher ended rather than unbounded memory.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from 'vitest';
import type { WatchServiceOptions } from '../../src/api/watch-service.js';
import { WatchStream } from '../../src/api/watch-stream.js';
import { type WireWatchResponse, wireResponseBytes } from '../../src/api/watch-wire.js';
import { silentLogger } from '../../src/common/logger.js';
import { type Command, MvccStore, WatchHub, type WatchHubLimits } from '../../src/mvcc/index.js';
import { startWatchServer, type WatchServer } from './watch-server.js';

const enc = (s: string) => Buffer.from(s);
const dec = (b: Uint8Array) => Buffer.from(b).toString();

/** A store, its hub, and writes that notify the hub as the state machine does. */
class Member {
  readonly store = new MvccStore();
  readonly hub: WatchHub;
  constructor(limits: Partial<WatchHubLimits> = {}) {
    this.hub = new WatchHub(this.store, limits);
  }
  apply(command: Command): void {
    const r = this.store.apply(command);
    if (!r.ok) throw r.error;
    if (r.events.length > 0) this.hub.notify(this.store.currentRevision, r.events);
  }
  put(key: string, value: string): void {
    this.apply({ type: 'put', request: { key: enc(key), value: enc(value) } });
  }
  header() {
    return { cluster_id: 7, member_id: 9, revision: this.store.currentRevision, raft_term: 2 };
  }
}

/** One client stream: requests out, responses collected, awaited in order. */
class Conversation {
  readonly responses: WireWatchResponse[] = [];
  status: grpc.StatusObject | undefined;
  private waiters: (() => void)[] = [];
  constructor(readonly call: grpc.ClientDuplexStream<unknown, WireWatchResponse>) {
    call.on('data', (r: WireWatchResponse) => {
      this.responses.push(r);
      this.wake();
    });
    call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
    call.on('error', () => this.wake());
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  send(req: unknown): void {
    this.call.write(req);
  }
  /** Waits until `count` responses arrived (or the stream ended) and returns them all. */
  async atLeast(count: number): Promise<WireWatchResponse[]> {
    while (this.responses.length < count && this.status === undefined)
      await new Promise<void>((r) => this.waiters.push(r));
    return this.responses;
  }
  async ended(): Promise<grpc.StatusObject> {
    while (this.status === undefined) await new Promise<void>((r) => this.waiters.push(r));
    return this.status;
  }
}

let served: WatchServer | undefined;

afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function serve(member: Member, options: Partial<WatchServiceOptions> = {}) {
  served = await startWatchServer(member.hub, () => member.header(), options);
  const { service, open } = served;
  return { service, open: () => new Conversation(open()) };
}

const create = (fields: Record<string, unknown>) => ({ create_request: { key: enc('k'), ...fields } });
const events = (r: WireWatchResponse) =>
  r.events.map((e) => `${e.type === 0 ? 'PUT' : 'DELETE'} ${dec(e.kv.key)}@${e.kv.mod_revision}`);

describe('Watch over gRPC', () => {
  test('created replies come in request order with the current revision; events follow with their revision', async () => {
    const m = new Member();
    m.put('k', 'old');
    const { open } = await serve(m);
    const c = open();
    c.send(create({}));
    c.send(create({ key: enc('a'), range_end: enc('b') }));
    c.send(create({ key: enc('x'), watch_id: 42 }));
    const created = await c.atLeast(3);
    expect(created.map((r) => [r.created, r.watch_id, r.header.revision])).toEqual([
      [true, 0, 2],
      [true, 1, 2],
      [true, 42, 2],
    ]);
    expect(created[0]?.header).toMatchObject({ cluster_id: 7, member_id: 9, raft_term: 2 });
    m.put('k', 'new');
    m.put('ab', 'x');
    const all = await c.atLeast(5);
    expect(all.slice(3).map((r) => [r.watch_id, r.header.revision, events(r)])).toEqual([
      [0, 3, ['PUT k@3']],
      [1, 4, ['PUT ab@4']],
    ]);
    expect(all[3]?.events[0]?.prev_kv).toBeNull();
    c.call.end();
  });

  test('a duplicate client id and an empty range are created and canceled at once, as etcd', async () => {
    const m = new Member();
    const { open } = await serve(m);
    const c = open();
    c.send(create({ watch_id: 5 }));
    c.send(create({ watch_id: 5 }));
    c.send(create({ key: enc('b'), range_end: enc('a') }));
    const rs = await c.atLeast(3);
    expect(rs[1]).toMatchObject({
      watch_id: -1,
      created: true,
      canceled: true,
      cancel_reason: 'mvcc: duplicate watch ID provided on the WatchStream',
    });
    expect(rs[2]).toMatchObject({
      watch_id: -1,
      created: true,
      canceled: true,
      cancel_reason: 'mvcc: watcher range is empty',
    });
    c.call.end();
  });

  test('history from a start revision with prev_kv and NOPUT; a compacted start is canceled with compact_revision', async () => {
    const m = new Member();
    m.put('k', 'a'); // 2
    m.put('k', 'b'); // 3
    m.apply({ type: 'deleteRange', request: { key: enc('k') } }); // 4
    m.put('k', 'c'); // 5
    m.apply({ type: 'compact', request: { revision: 3 } });
    const { open } = await serve(m);
    const c = open();
    c.send(create({ start_revision: 3, prev_kv: true }));
    c.send(create({ start_revision: 2, filters: [0] }));
    c.send(create({ start_revision: 3, filters: [0] }));
    const rs = await c.atLeast(5);
    expect(rs[0]).toMatchObject({ created: true, watch_id: 0 });
    expect(events(rs[1]!)).toEqual(['PUT k@3', 'DELETE k@4', 'PUT k@5']);
    // The version before the compaction revision is gone, so the first event has no prev_kv (as etcd).
    expect(rs[1]!.events.map((e) => (e.prev_kv ? dec(e.prev_kv.value) : null))).toEqual([null, 'b', null]);
    expect(rs[2]).toMatchObject({ created: true, watch_id: 1 });
    expect(rs[3]).toMatchObject({ watch_id: 1, canceled: true, compact_revision: 3 });
    expect(rs[4]).toMatchObject({ created: true, watch_id: 2 });
    expect(events((await c.atLeast(6))[5]!)).toEqual(['DELETE k@4']);
    c.call.end();
  });

  test('cancel answers canceled and removes the watcher; the stream ending removes the rest', async () => {
    const m = new Member();
    const { open, service } = await serve(m);
    const c = open();
    c.send(create({}));
    c.send(create({ key: enc('j') }));
    await c.atLeast(2);
    expect(m.hub.watcherCount).toBe(2);
    c.send({ cancel_request: { watch_id: 0 } });
    const rs = await c.atLeast(3);
    expect(rs[2]).toMatchObject({ watch_id: 0, canceled: true });
    expect(m.hub.watcherCount).toBe(1);
    c.call.end();
    expect((await c.ended()).code).toBe(grpc.status.OK);
    expect(m.hub.watcherCount).toBe(0);
    expect(service.streamCount).toBe(0);
  });

  test('a client that disconnects leaves no watcher behind', async () => {
    const m = new Member();
    const { open, service } = await serve(m);
    const c = open();
    c.send(create({}));
    await c.atLeast(1);
    c.call.cancel();
    while (service.streamCount > 0) await new Promise((r) => setTimeout(r, 10));
    expect(m.hub.watcherCount).toBe(0);
  });

  test('a progress request on a synced stream answers at once with watch_id -1 and the current revision', async () => {
    const m = new Member();
    m.put('k', '1');
    const { open } = await serve(m);
    const c = open();
    c.send(create({}));
    c.send({ progress_request: {} });
    const rs = await c.atLeast(2);
    expect(rs[1]).toMatchObject({
      watch_id: -1,
      created: false,
      canceled: false,
      compact_revision: 0,
      events: [],
    });
    expect(rs[1]?.header.revision).toBe(2);
    c.call.end();
  });

  test('progress_notify watchers get periodic empty responses with their id; others do not', async () => {
    const m = new Member();
    const { open } = await serve(m, { progressNotifyIntervalMs: 20 });
    const c = open();
    c.send(create({ progress_notify: true }));
    c.send(create({ key: enc('other') }));
    const rs = await c.atLeast(3);
    // The timer may tick between the two creates: look at everything that is not a "created".
    expect(rs.filter((r) => r.created).map((r) => r.watch_id)).toEqual([0, 1]);
    const progress = rs.filter((r) => !r.created);
    expect(progress.length).toBeGreaterThan(0);
    for (const r of progress) expect(r).toMatchObject({ watch_id: 0, created: false, events: [] });
    c.call.end();
  });

  test('a large response of a fragment watcher is split with fragment=true on all but the last', async () => {
    const m = new Member();
    for (let i = 0; i < 8; i++) m.put(`f/${i}`, 'v'.repeat(100));
    const { open } = await serve(m, { maxRequestBytes: 300 });
    const c = open();
    c.send(create({ key: enc('f/'), range_end: enc('f0'), prev_kv: true, fragment: true }));
    c.send(create({ key: enc('f/'), range_end: enc('f0'), prev_kv: true }));
    await c.atLeast(2);
    m.apply({ type: 'deleteRange', request: { key: enc('f/'), rangeEnd: enc('f0'), prevKv: true } });
    const whole = await (async () => {
      for (;;) {
        const found = c.responses.find((r) => r.watch_id === 1 && r.events.length > 0);
        if (found) return found;
        await c.atLeast(c.responses.length + 1);
      }
    })();
    expect(whole.fragment).toBe(false);
    expect(whole.events).toHaveLength(8);
    // Watcher 0 was served first, so all its parts arrived before watcher 1's response.
    const parts = c.responses.filter((r) => r.watch_id === 0 && r.events.length > 0);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.events.length === 1 || wireResponseBytes(p) < 300).toBe(true);
    expect(parts.map((p) => p.fragment)).toEqual([...parts.slice(1).map(() => true), false]);
    expect(parts.flatMap(events)).toEqual(events(whole));
    c.call.end();
  });

  test('a start revision out of range ends the stream with InvalidArgument', async () => {
    const m = new Member();
    const { open } = await serve(m);
    const c = open();
    c.send(create({ start_revision: -3 }));
    const status = await c.ended();
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(m.hub.watcherCount).toBe(0);
  });
});

/** A stand-in for grpc-js's server call: records writes; `flowing` decides whether writes report room. */
class ScriptedCall extends EventEmitter {
  written: WireWatchResponse[] = [];
  pendingCallbacks: (() => void)[] = [];
  flowing = true;
  writableNeedDrain = false;
  write(msg: WireWatchResponse, cb: () => void): boolean {
    this.written.push(msg);
    if (this.flowing) queueMicrotask(cb);
    else {
      this.pendingCallbacks.push(cb);
      this.writableNeedDrain = true;
    }
    return this.flowing;
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  request(req: unknown): void {
    this.emit('data', req);
  }
}

function scripted(m: Member, bufferedBytesMax = 1024) {
  const call = new ScriptedCall();
  new WatchStream(
    call as unknown as grpc.ServerDuplexStream<unknown, unknown>,
    { hub: m.hub, header: () => m.header(), logger: silentLogger() },
    { maxRequestBytes: 1024 * 1024, watchersPerStreamMax: 100, bufferedBytesMax },
    () => {},
  );
  return call;
}

describe('WatchStream with a scripted call', () => {
  test('a progress request waits until the replaying watcher has caught up, and comes after its events', async () => {
    const m = new Member({ replayRecordsPerCallMax: 2, replayBatchEventsMax: 1 });
    for (let i = 0; i < 10; i++) m.put('k', `${i}`);
    const call = scripted(m);
    call.request(create({ start_revision: 1 }));
    call.request({ progress_request: {} });
    expect(call.written.some((r) => r.watch_id === -1)).toBe(false);
    while (!call.written.some((r) => r.watch_id === -1)) await new Promise((r) => setImmediate(r));
    const progressAt = call.written.findIndex((r) => r.watch_id === -1);
    const before = call.written.slice(0, progressAt).flatMap((r) => r.events);
    expect(before).toHaveLength(10);
    expect(call.written[progressAt]?.header.revision).toBe(11);
  });

  test('a client that stops reading has its watcher ended as too slow instead of growing memory', () => {
    const m = new Member({ queuedEventsMax: 5 });
    const call = scripted(m, 64);
    call.request(create({}));
    call.flowing = false;
    for (let i = 0; i < 20; i++) m.put('k', `${i}`);
    const last = call.written[call.written.length - 1];
    expect(last).toMatchObject({ watch_id: 0, canceled: true });
    expect(last?.cancel_reason).toMatch(/too slow/);
    expect(m.hub.watcherCount).toBe(0);
    expect(call.written.length).toBeLessThan(10);
  });

  test('a client that catches up in time gets every event in order', async () => {
    const m = new Member({ queuedEventsMax: 100 });
    const call = scripted(m, 64);
    call.request(create({}));
    call.flowing = false;
    for (let i = 0; i < 20; i++) m.put('k', `${i}`);
    call.flowing = true;
    call.writableNeedDrain = false;
    for (const cb of call.pendingCallbacks.splice(0)) cb();
    // The stream pushes back again after every 64 bytes, so catching up takes several turns.
    const revisions = () => call.written.flatMap((r) => r.events.map((e) => e.kv.mod_revision));
    for (let turn = 0; turn < 1000 && revisions().length < 20; turn++)
      await new Promise((r) => setImmediate(r));
    expect(m.hub.watcherCount).toBe(1);
    expect(revisions()).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  });
});
