// Proves the watch hub delivers exactly the events a watcher asked for, once each and in revision order: live writes to synced watchers, history replay (with prevKv) that joins live delivery with no gap or duplicate while writes keep arriving, the compacted end, filters, ranges, the slow-watcher bound, restore from a snapshot and cleanup on cancel; by driving a real MvccStore and notifying the hub after each apply as the node does.
import { describe, expect, test } from 'vitest';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import {
  EventType,
  type MvccEvent,
  type MvccStore,
  type WatchBatch,
  type WatchEnd,
  WatchHub,
  type WatchHubLimits,
  type WatchOptions,
} from '../../src/mvcc/index.js';
import { MvccStore as Store } from '../../src/mvcc/store.js';
import { b, newStore, str } from './support.js';

/** Applies a command and notifies the hub, as the KvStateMachine's listener does. */
function apply(store: MvccStore, hub: WatchHub, command: Parameters<MvccStore['apply']>[0]): void {
  const r = store.apply(command);
  if (!r.ok) throw r.error;
  if (r.events.length > 0) hub.notify(store.currentRevision, r.events);
}

function put(store: MvccStore, hub: WatchHub, key: string, value: string): void {
  apply(store, hub, { type: 'put', request: { key: b(key), value: b(value) } });
}

function del(store: MvccStore, hub: WatchHub, key: string, end?: string): void {
  const request = end === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(end) };
  apply(store, hub, { type: 'deleteRange', request });
}

/** A sink that records everything; `accept` decides whether it pauses after a batch. */
class Recorder {
  batches: WatchBatch[] = [];
  ends: WatchEnd[] = [];
  behindCalls = 0;
  accept = true;
  deliver = (batch: WatchBatch): boolean => {
    this.batches.push(batch);
    return this.accept;
  };
  ended = (end: WatchEnd): void => {
    this.ends.push(end);
  };
  behind = (): void => {
    this.behindCalls++;
  };
  /** Events as "PUT k=v@rev" / "DELETE k@rev" strings, in delivery order. */
  get events(): string[] {
    return this.batches.flatMap((batch) => batch.events.map(show));
  }
}

function show(ev: MvccEvent): string {
  const prev = ev.prevKv ? ` (prev ${str(ev.prevKv.value)}@${ev.prevKv.modRevision})` : '';
  return ev.type === EventType.Put
    ? `PUT ${str(ev.kv.key)}=${str(ev.kv.value)}@${ev.kv.modRevision}${prev}`
    : `DELETE ${str(ev.kv.key)}@${ev.kv.modRevision}${prev}`;
}

function watch(
  hub: WatchHub,
  options: Omit<Partial<WatchOptions>, 'key' | 'rangeEnd'> & { key: string; end?: string },
  sink = new Recorder(),
) {
  const { key, end, ...rest } = options;
  const handle = hub.watch(
    { startRevision: 0, ...rest, key: b(key), ...(end !== undefined ? { rangeEnd: b(end) } : {}) },
    sink,
  );
  return { sink, handle };
}

function setup(limits: Partial<WatchHubLimits> = {}): { store: MvccStore; hub: WatchHub } {
  const store = newStore();
  return { store, hub: new WatchHub(store, limits) };
}

describe('synced watchers', () => {
  test('a watcher from now sees later writes to its key only, one batch per revision', () => {
    const { store, hub } = setup();
    put(store, hub, 'a', 'old');
    const { sink, handle } = watch(hub, { key: 'a' });
    expect(handle.synced).toBe(true);
    put(store, hub, 'a', '1');
    put(store, hub, 'b', 'x');
    del(store, hub, 'a');
    expect(sink.events).toEqual(['PUT a=1@3 (prev old@2)', 'DELETE a@5 (prev 1@3)']);
    expect(sink.batches.map((x) => x.revision)).toEqual([3, 5]);
  });

  test('a range delete of several watched keys arrives as one batch of that revision', () => {
    const { store, hub } = setup();
    put(store, hub, 'p/1', 'a');
    put(store, hub, 'p/2', 'b');
    put(store, hub, 'q', 'c');
    const prefix = watch(hub, { key: 'p/', end: 'p0' });
    const all = watch(hub, { key: '\0', end: '\0' });
    del(store, hub, 'a', 'z');
    expect(prefix.sink.batches).toHaveLength(1);
    expect(prefix.sink.events).toEqual(['DELETE p/1@5 (prev a@2)', 'DELETE p/2@5 (prev b@3)']);
    expect(all.sink.events).toEqual([
      'DELETE p/1@5 (prev a@2)',
      'DELETE p/2@5 (prev b@3)',
      'DELETE q@5 (prev c@4)',
    ]);
  });

  test('NOPUT and NODELETE filters drop their event types', () => {
    const { store, hub } = setup();
    const noPut = watch(hub, { key: 'k', noPut: true });
    const noDelete = watch(hub, { key: 'k', noDelete: true });
    put(store, hub, 'k', '1');
    del(store, hub, 'k');
    expect(noPut.sink.events).toEqual(['DELETE k@3 (prev 1@2)']);
    expect(noDelete.sink.events).toEqual(['PUT k=1@2']);
  });

  test('a start revision in the future waits for it', () => {
    const { store, hub } = setup();
    const { sink } = watch(hub, { key: 'k', startRevision: 4 });
    put(store, hub, 'k', '2');
    put(store, hub, 'k', '3');
    put(store, hub, 'k', '4');
    expect(sink.events).toEqual(['PUT k=4@4 (prev 3@3)']);
  });
});

describe('history replay', () => {
  test('a watcher from an old revision replays history with prevKv, then gets live writes', () => {
    const { store, hub } = setup();
    put(store, hub, 'k', 'a'); // 2
    put(store, hub, 'k', 'b'); // 3
    del(store, hub, 'k'); // 4
    put(store, hub, 'k', 'c'); // 5
    const { sink, handle } = watch(hub, { key: 'k', startRevision: 3, prevKv: true });
    expect(handle.synced).toBe(true);
    put(store, hub, 'k', 'd'); // 6
    expect(sink.events).toEqual([
      'PUT k=b@3 (prev a@2)',
      'DELETE k@4 (prev b@3)',
      'PUT k=c@5',
      'PUT k=d@6 (prev c@5)',
    ]);
  });

  test('without prev_kv replayed events carry no previous version', () => {
    const { store, hub } = setup();
    put(store, hub, 'k', 'a');
    put(store, hub, 'k', 'b');
    const { sink } = watch(hub, { key: 'k', startRevision: 1 });
    expect(sink.events).toEqual(['PUT k=a@2', 'PUT k=b@3']);
  });

  test('a slow replay in small batches meets concurrent writes with no gap and no duplicate', () => {
    const { store, hub } = setup({ replayBatchEventsMax: 3, replayRecordsPerCallMax: 4 });
    const expected: string[] = [];
    for (let i = 0; i < 40; i++) put(store, hub, `k${i % 3}`, `v${i}`);
    const { sink, handle } = watch(hub, { key: 'k', end: 'l', startRevision: 1 });
    // The replay yields after each budget; writes land between the resumptions.
    let i = 40;
    while (!handle.synced) {
      expect(sink.behindCalls).toBeGreaterThan(0);
      put(store, hub, `k${i % 3}`, `v${i}`);
      i++;
      handle.resume();
    }
    for (let j = 0; j < 5; j++, i++) put(store, hub, `k${i % 3}`, `v${i}`);
    for (let j = 0; j < i; j++) expected.push(`PUT k${j % 3}=v${j}@${j + 2}`);
    expect(sink.events.map((e) => e.replace(/ \(prev.*\)$/, ''))).toEqual(expected);
    const revisions = sink.batches.map((x) => x.revision);
    expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
    expect(new Set(revisions).size).toBe(revisions.length);
  });

  test('a replay that the sink pauses continues from where it stopped on resume', () => {
    const { store, hub } = setup({ replayBatchEventsMax: 2 });
    for (let i = 0; i < 9; i++) put(store, hub, 'k', `${i}`);
    const paused = new Recorder();
    paused.accept = false;
    const { sink, handle } = watch(hub, { key: 'k', startRevision: 2 }, paused);
    expect(sink.batches).toHaveLength(1);
    put(store, hub, 'k', 'live');
    expect(sink.batches).toHaveLength(1);
    sink.accept = true;
    handle.resume();
    expect(sink.events.map((e) => e.split('@')[1])).toEqual([
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
      '11',
    ]);
    expect(handle.synced).toBe(true);
  });

  test('the replay batch header never runs ahead of the events delivered', () => {
    const { store, hub } = setup({ replayBatchEventsMax: 1 });
    put(store, hub, 'a', '1');
    put(store, hub, 'a', '2');
    put(store, hub, 'b', '3');
    const { sink } = watch(hub, { key: 'a', startRevision: 1 });
    expect(sink.batches.map((x) => [x.events.map((e) => e.kv.modRevision), x.revision])).toEqual([
      [[2], 2],
      [[3], 3],
    ]);
  });
});

describe('compaction', () => {
  test('a start revision below the compaction point ends the watcher with the compaction revision', () => {
    const { store, hub } = setup();
    for (let i = 0; i < 5; i++) put(store, hub, 'k', `${i}`);
    apply(store, hub, { type: 'compact', request: { revision: 4 } });
    const below = watch(hub, { key: 'k', startRevision: 3 });
    expect(below.sink.ends).toEqual([{ kind: 'compacted', compactRevision: 4 }]);
    expect(below.handle.ended).toBe(true);
    expect(below.sink.batches).toEqual([]);
    const at = watch(hub, { key: 'k', startRevision: 4 });
    expect(at.sink.ends).toEqual([]);
    expect(at.sink.events).toEqual(['PUT k=2@4', 'PUT k=3@5', 'PUT k=4@6']);
    expect(hub.watcherCount).toBe(1);
  });

  test('a compaction that overtakes an unfinished replay ends it as compacted', () => {
    const { store, hub } = setup({ replayBatchEventsMax: 1 });
    for (let i = 0; i < 6; i++) put(store, hub, 'k', `${i}`);
    const paused = new Recorder();
    paused.accept = false;
    const { sink, handle } = watch(hub, { key: 'k', startRevision: 2 }, paused);
    expect(sink.batches).toHaveLength(1);
    apply(store, hub, { type: 'compact', request: { revision: 6 } });
    sink.accept = true;
    handle.resume();
    expect(sink.ends).toEqual([{ kind: 'compacted', compactRevision: 6 }]);
    expect(hub.watcherCount).toBe(0);
  });
});

describe('slow watchers and cleanup', () => {
  test('a paused watcher queues live events up to the bound, then is ended with a reason', () => {
    const { store, hub } = setup({ queuedEventsMax: 3 });
    const { sink, handle } = watch(hub, { key: 'k' });
    sink.accept = false;
    put(store, hub, 'k', '0');
    put(store, hub, 'k', '1');
    put(store, hub, 'k', '2');
    put(store, hub, 'k', '3');
    expect(sink.ends).toEqual([]);
    expect(handle.idle).toBe(false);
    put(store, hub, 'k', '4');
    expect(sink.ends).toHaveLength(1);
    expect(sink.ends[0]?.kind).toBe('slow');
    expect(hub.watcherCount).toBe(0);
    put(store, hub, 'k', '5');
    expect(sink.batches).toHaveLength(1);
  });

  test('a paused watcher that resumes in time gets its queue in order and stays synced', () => {
    const { store, hub } = setup({ queuedEventsMax: 10 });
    const { sink, handle } = watch(hub, { key: 'k' });
    sink.accept = false;
    for (let i = 0; i < 5; i++) put(store, hub, 'k', `${i}`);
    sink.accept = true;
    handle.resume();
    expect(handle.idle).toBe(true);
    put(store, hub, 'k', 'x');
    expect(sink.events.map((e) => e.split(' ')[1])).toEqual([
      'k=0@2',
      'k=1@3',
      'k=2@4',
      'k=3@5',
      'k=4@6',
      'k=x@7',
    ]);
  });

  test('cancel stops delivery and frees the watcher', () => {
    const { store, hub } = setup();
    const exact = watch(hub, { key: 'k' });
    const ranged = watch(hub, { key: 'a', end: 'z' });
    expect(hub.watcherCount).toBe(2);
    exact.handle.cancel();
    ranged.handle.cancel();
    exact.handle.cancel();
    expect(hub.watcherCount).toBe(0);
    put(store, hub, 'k', '1');
    expect(exact.sink.batches).toEqual([]);
    expect(ranged.sink.batches).toEqual([]);
  });

  test('a sink that cancels another watcher while being served does not make it receive more', () => {
    const { store, hub } = setup();
    const second = watch(hub, { key: 'k' });
    const first = watch(hub, { key: 'a', end: 'z' });
    first.sink.deliver = (batch) => {
      first.sink.batches.push(batch);
      second.handle.cancel();
      return true;
    };
    put(store, hub, 'k', '1');
    expect(first.sink.batches).toHaveLength(1);
    expect(second.sink.batches.length).toBeLessThanOrEqual(1);
    put(store, hub, 'k', '2');
    expect(second.sink.batches.length).toBeLessThanOrEqual(1);
  });
});

describe('restore from a snapshot', () => {
  test('watchers resume from the new store from their next revision, with no gap or duplicate', () => {
    const { store, hub } = setup();
    put(store, hub, 'k', '1'); // 2
    const { sink } = watch(hub, { key: 'k' });
    put(store, hub, 'k', '2'); // 3
    // Another member goes on without this one, then this one installs its snapshot.
    const ahead = Store.restore(collectBytes(store.snapshot(7))).store;
    put(ahead, new WatchHub(ahead), 'k', '3'); // 4
    put(ahead, new WatchHub(ahead), 'j', 'x'); // 5
    put(ahead, new WatchHub(ahead), 'k', '4'); // 6
    hub.restored(ahead);
    put(ahead, hub, 'k', '5'); // 7
    expect(sink.events).toEqual(['PUT k=2@3 (prev 1@2)', 'PUT k=3@4', 'PUT k=4@6', 'PUT k=5@7 (prev 4@6)']);
  });

  test('a watcher whose next revision the new store compacted is ended as compacted', () => {
    const { store, hub } = setup();
    const { sink } = watch(hub, { key: 'k' });
    const ahead = Store.restore(collectBytes(store.snapshot(1))).store;
    for (let i = 0; i < 4; i++) ahead.apply({ type: 'put', request: { key: b('k'), value: b(`${i}`) } });
    ahead.apply({ type: 'compact', request: { revision: 4 } });
    hub.restored(ahead);
    expect(sink.ends).toEqual([{ kind: 'compacted', compactRevision: 4 }]);
  });
});

describe('events of a write', () => {
  test('carry the KeyValues of the write and of the previous version, the same objects on every read', () => {
    const { store } = setup();
    store.apply({ type: 'put', request: { key: b('k'), value: b('old') } });
    const r = store.apply({ type: 'put', request: { key: b('k'), value: b('new') } });
    if (!r.ok) throw r.error;
    const [ev] = r.events;
    expect(show(ev!)).toBe('PUT k=new@3 (prev old@2)');
    expect(ev!.kv).toBe(ev!.kv);
    expect(ev!.prevKv).toBe(ev!.prevKv);
    const first = store.apply({ type: 'put', request: { key: b('fresh'), value: b('v') } });
    if (!first.ok) throw first.error;
    expect(first.events[0]!.prevKv).toBeUndefined();
  });

  test('are not read when no watcher is synced (their KeyValues need not be made)', () => {
    const { store, hub } = setup();
    put(store, hub, 'a', '1');
    const unread: MvccEvent = {
      type: EventType.Put,
      get kv(): never {
        throw new Error('kv read with no synced watcher');
      },
    };
    store.apply({ type: 'put', request: { key: b('a'), value: b('2') } });
    expect(() => hub.notify(store.currentRevision, [unread])).not.toThrow();
    watch(hub, { key: 'z' });
    put(store, hub, 'z', '1');
    store.apply({ type: 'put', request: { key: b('a'), value: b('3') } });
    expect(() => hub.notify(store.currentRevision, [unread])).toThrow('kv read with no synced watcher');
  });
});
