/**
 * The watch workload: watchers (the SDK's Watcher, which resumes across reconnects) on every
 * key the KV workload writes (the prefix `k`), some replaying from revision 1 and some from
 * the revision current when they start, started at different moments of the faulted run.
 * At the end a marker key is put, each watcher must deliver it, and the keys' full revision
 * history is read through one raw Watch from revision 1 (above the compaction point, if any)
 * for the checker.
 */
import * as grpc from '@grpc/grpc-js';
import type { Client, Watcher } from '../../../src/client/index.js';
import { etcdServices } from '../../../src/common/proto-loader.js';
import type { ChangeEvent, WatcherLog, WatchHistory } from '../checker/watch-order.js';
import { sleep } from '../cluster.js';

/** The prefix watched: every key of the KV workload (k0, k1, ...). */
export const WATCH_PREFIX = 'k';
/** The key put after the faults; every watcher must deliver it. */
export const MARKER_KEY = 'k~marker';

interface Running {
  readonly name: string;
  readonly startRevision: number;
  readonly watcher: Watcher;
  readonly events: ChangeEvent[];
  error?: string;
}

/** Watchers over the KV workload's keys and what they delivered. */
export class WatchWorkload {
  private readonly running: Running[] = [];

  constructor(private readonly clients: readonly Client[]) {}

  /** Starts watcher number n (even: from revision 1; odd: from the current revision). */
  async startWatcher(n: number): Promise<void> {
    const client = this.clients[n % this.clients.length]!;
    let startRevision = 1;
    if (n % 2 === 1) {
      try {
        startRevision = (await client.kv.get(WATCH_PREFIX, { deadlineMs: 5000 })).revision + 1;
      } catch {
        // No revision known in time: replay from the start instead.
      }
    }
    const watcher = client.watch(WATCH_PREFIX, { prefix: true, startRevision });
    const r: Running = { name: `watch${n}@${startRevision}`, startRevision, watcher, events: [] };
    this.running.push(r);
    void (async () => {
      try {
        for await (const e of watcher)
          r.events.push({
            revision: e.kv.modRevision,
            key: e.kv.key.toString(),
            type: e.type,
            value: e.type === 'put' ? e.kv.value.toString() : '',
          });
      } catch (err) {
        r.error = (err as Error).message;
      }
    })();
  }

  /** Starts `count` watchers spread over the run (the first at once). */
  async run(count: number, timeS: number, shouldStop: () => boolean): Promise<void> {
    for (let n = 0; n < count; n++) {
      if (n > 0) {
        const until = performance.now() + ((timeS * 1000) / count) * 0.8;
        while (!shouldStop() && performance.now() < until) await sleep(100);
        if (shouldStop()) return;
      }
      await this.startWatcher(n);
    }
  }

  /**
   * Puts the marker, waits (up to timeoutMs) for every watcher to deliver it, reads the
   * keys' history up to it; the history for the checker.
   */
  async finish(client: Client, endpoint: string, timeoutMs: number): Promise<WatchHistory> {
    const until = performance.now() + timeoutMs;
    const marker = await client.kv.put(MARKER_KEY, `end-${Date.now()}`, { deadlineMs: 10_000 });
    const reached = (r: Running): boolean => (r.events.at(-1)?.revision ?? 0) >= marker.revision;
    while (performance.now() < until && !this.running.every((r) => reached(r) || r.error !== undefined))
      await sleep(100);
    const { events, compactRevision } = await readHistory(endpoint, marker.revision, timeoutMs);
    const watchers: WatcherLog[] = this.running.map((r) => ({
      name: r.name,
      startRevision: r.startRevision,
      events: r.events,
      reconnects: (r.watcher as unknown as { stream: { reconnects: number } }).stream.reconnects,
      ...(r.error !== undefined ? { error: r.error } : {}),
    }));
    return { watchers, history: events, untilRevision: marker.revision, compactRevision };
  }

  /** Stops every watcher. */
  close(): void {
    for (const r of this.running) r.watcher.close();
  }
}

interface WatchReply {
  canceled?: boolean;
  compact_revision?: number;
  events?: { type: number; kv?: { key: Buffer; value: Buffer; mod_revision: number } }[];
}

/** Every change under WATCH_PREFIX up to `revision`, from revision 1 or just above the compaction point. */
export async function readHistory(
  endpoint: string,
  revision: number,
  timeoutMs: number,
): Promise<{ events: ChangeEvent[]; compactRevision: number }> {
  const { Watch } = etcdServices();
  const client = new Watch(endpoint, grpc.credentials.createInsecure());
  let from = 1;
  let compactRevision = 0;
  try {
    for (;;) {
      const events: ChangeEvent[] = [];
      type Stream = grpc.ClientDuplexStream<object, WatchReply>;
      const stream = (client as unknown as { Watch: (o: grpc.CallOptions) => Stream }).Watch({
        deadline: Date.now() + timeoutMs,
      });
      const compacted = await new Promise<number>((resolve, reject) => {
        stream.on('data', (r: WatchReply) => {
          if (r.canceled && Number(r.compact_revision ?? 0) > 0) resolve(Number(r.compact_revision));
          for (const e of r.events ?? []) {
            if (!e.kv) continue;
            events.push({
              revision: Number(e.kv.mod_revision),
              key: e.kv.key.toString(),
              type: e.type === 1 ? 'delete' : 'put',
              value: e.type === 1 ? '' : e.kv.value.toString(),
            });
            if (Number(e.kv.mod_revision) >= revision) resolve(0);
          }
        });
        stream.on('error', reject);
        stream.on('end', () => reject(new Error('history watch ended early')));
        stream.write({
          create_request: {
            key: Buffer.from(WATCH_PREFIX),
            range_end: Buffer.from('l'),
            start_revision: from,
          },
        });
      }).finally(() => stream.cancel());
      if (compacted === 0) return { events: events.filter((e) => e.revision <= revision), compactRevision };
      compactRevision = compacted;
      from = compacted;
    }
  } finally {
    client.close();
  }
}
