/**
 * Proves the coordination watches (HubWatches over a real WatchHub and MvccStore): a watch
 * from a past revision replays history and continues live with no gap and no duplicate (even
 * when a write lands between opening and first reading), a consumer that falls behind pauses
 * its hub watcher and later gets everything in order, a watcher the hub ends as too slow
 * fails with OVERLOADED, a compacted start fails with COMPACTED, and abort and stop end
 * watches leaving none registered in either the adapter or the hub.
 */
import { describe, expect, test } from 'vitest';
import { HubWatches } from '../../src/api/hub-watches.js';
import { ErrorCode } from '../../src/common/errors.js';
import type { WatchBatch } from '../../src/coordination/ports.js';
import { type Command, EventType, MvccStore, WatchHub, type WatchHubLimits } from '../../src/mvcc/index.js';
import { b, str } from '../coordination/support.js';

function setup(opts: { queuedBatchesMax?: number } = {}, limits: Partial<WatchHubLimits> = {}) {
  const store = new MvccStore();
  const hub = new WatchHub(store, limits);
  const feed = new HubWatches(hub, opts);
  const apply = (cmd: Command): void => {
    const r = store.apply(cmd);
    if (!r.ok) throw r.error;
    if (r.events.length > 0) hub.notify(store.currentRevision, r.events);
  };
  const put = (k: string, v: string) => apply({ type: 'put', request: { key: b(k), value: b(v) } });
  return { store, hub, feed, apply, put };
}

async function take(it: AsyncIterator<WatchBatch>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    for (const e of r.value.events)
      out.push(`${r.value.revision}:${e.type === EventType.Put ? 'PUT' : 'DEL'}:${str(e.kv.key)}`);
  }
  return out;
}

describe('HubWatches', () => {
  test('a watch from a past revision replays history then continues live, without gaps or duplicates', async () => {
    const { feed, put, apply } = setup();
    put('a', '1'); // rev 2
    put('b', '1'); // rev 3 (outside the range)
    put('a', '2'); // rev 4
    const it = feed.watch({ key: b('a') }, 2, new AbortController().signal)[Symbol.asyncIterator]();
    const first = take(it, 1);
    put('a', '3'); // rev 5, applied after the subscription
    apply({ type: 'deleteRange', request: { key: b('a') } }); // rev 6
    expect(await first).toEqual(['2:PUT:a']);
    expect(await take(it, 3)).toEqual(['4:PUT:a', '5:PUT:a', '6:DEL:a']);
    await it.return?.();
    expect(feed.watcherCount).toBe(0);
  });

  test('start revision 0 means from the next revision; a prefix range matches only its keys', async () => {
    const { feed, put } = setup();
    put('p/1', 'old');
    const it = feed
      .watch({ key: b('p/'), rangeEnd: b('p0') }, 0, new AbortController().signal)
      [Symbol.asyncIterator]();
    const got = take(it, 2);
    put('q', 'x');
    put('p/2', 'x');
    put('p/1', 'new');
    expect(await got).toEqual(['4:PUT:p/2', '5:PUT:p/1']);
  });

  test('a consumer that falls behind pauses its hub watcher and then gets every revision in order', async () => {
    const { feed, put } = setup({ queuedBatchesMax: 3 });
    const it = feed.watch({ key: b('k') }, 0, new AbortController().signal)[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) put('k', String(i)); // revs 2..11, none read yet
    const got = await take(it, 10);
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `${i + 2}:PUT:k`));
  });

  test('a start revision below the compaction fails with COMPACTED', async () => {
    const { feed, put, apply } = setup();
    put('k', '1');
    put('k', '2');
    put('k', '3');
    apply({ type: 'compact', request: { revision: 4 } });
    const it = feed.watch({ key: b('k') }, 2, new AbortController().signal)[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: ErrorCode.COMPACTED });
    expect(feed.watcherCount).toBe(0);
  });

  test('a consumer so slow that the hub gives up on it is failed with OVERLOADED', async () => {
    const { feed, hub, put } = setup({ queuedBatchesMax: 3 }, { queuedEventsMax: 4 });
    const it = feed.watch({ key: b('k') }, 0, new AbortController().signal)[Symbol.asyncIterator]();
    for (let i = 0; i < 12; i++) put('k', String(i));
    expect(await take(it, 3)).toHaveLength(3);
    await expect(it.next()).rejects.toMatchObject({ code: ErrorCode.OVERLOADED });
    expect(feed.watcherCount).toBe(0);
    expect(hub.watcherCount).toBe(0);
  });

  test('abort ends the iteration quietly; stop fails open and later watches with STOPPED', async () => {
    const { feed, hub } = setup();
    const abort = new AbortController();
    const it = feed.watch({ key: b('k') }, 0, abort.signal)[Symbol.asyncIterator]();
    const pending = it.next();
    abort.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(feed.watcherCount).toBe(0);
    expect(hub.watcherCount).toBe(0);

    const open = feed.watch({ key: b('k') }, 0, new AbortController().signal)[Symbol.asyncIterator]();
    const waiting = open.next();
    feed.stop();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.STOPPED });
    const later = feed.watch({ key: b('k') }, 0, new AbortController().signal)[Symbol.asyncIterator]();
    await expect(later.next()).rejects.toMatchObject({ code: ErrorCode.STOPPED });
    expect(feed.watcherCount).toBe(0);
  });
});
