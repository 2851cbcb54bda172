// Proves that a Watch stream sends what it has in one turn without waiting for a socket write per message (direct-send.ts): with the grpc-js this project pins the direct path is taken; one event to 300 watchers of one stream reaches the client in watch order within far fewer event-loop turns than messages (grpc-js's own Writable needs a socket write per message); and over a real connection a client that stops reading still has its watcher ended as too slow, so memory stays bounded on this path too.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from 'vitest';
import { serviceDefinitions } from '../../src/api/definitions.js';
import { directSender } from '../../src/api/direct-send.js';
import type { WireWatchResponse } from '../../src/api/watch-wire.js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { MvccStore, WatchHub, type WatchHubLimits } from '../../src/mvcc/index.js';
import { startWatchServer, type WatchServer } from './watch-server.js';

const enc = (s: string) => Buffer.from(s);

let server: grpc.Server | undefined;
let client: grpc.Client | undefined;
let served: WatchServer | undefined;

afterEach(async () => {
  client?.close();
  if (server) await new Promise<void>((r) => server!.tryShutdown(() => r()));
  await served?.close();
  server = client = served = undefined;
});

/** A store and its hub, and a Watch service over real gRPC on a free loopback port. */
async function serve(limits: Partial<WatchHubLimits> = {}, bufferedBytesMax?: number) {
  const store = new MvccStore();
  const hub = new WatchHub(store, limits);
  const put = (key: string, value: Uint8Array): void => {
    const r = store.apply({ type: 'put', request: { key: enc(key), value } });
    if (!r.ok) throw r.error;
    hub.notify(store.currentRevision, r.events);
  };
  const header = () => ({ cluster_id: 1, member_id: 2, revision: store.currentRevision, raft_term: 1 });
  served = await startWatchServer(hub, header, {
    maxRequestBytes: 4 * 1024 * 1024,
    ...(bufferedBytesMax ? { bufferedBytesMax } : {}),
  });
  const { open: openRaw } = served;
  const open = () => {
    const call = openRaw();
    call.on('error', () => {}); // the tests end their streams by cancelling them
    return call;
  };
  return { hub, put, open };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('direct sending on a Watch stream', () => {
  test('the pinned grpc-js exposes the call object the direct path writes through', async () => {
    let seen: boolean | undefined;
    server = new grpc.Server();
    server.addService(serviceDefinitions().watch, {
      Watch(call: grpc.ServerDuplexStream<unknown, unknown>) {
        seen = directSender(call) !== undefined;
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    client = new (etcdServices().Watch)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = (client as unknown as { Watch(): grpc.ClientDuplexStream<unknown, unknown> }).Watch();
    call.on('data', () => {});
    call.write({ create_request: { key: enc('k') } });
    await new Promise<void>((resolve) => call.on('status', () => resolve()));
    expect(seen).toBe(true);
  });

  test('one event to 300 watchers of one stream arrives in watch order within far fewer turns than messages', async () => {
    const watchers = 300;
    const { put, open } = await serve({ queuedEventsMax: 10_000 });
    const call = open();
    const created: number[] = [];
    const delivered: number[] = [];
    call.on('data', (r: WireWatchResponse) => {
      if (r.created) created.push(r.watch_id);
      else if (r.events.length > 0) delivered.push(r.watch_id);
    });
    for (let i = 0; i < watchers; i++) call.write({ create_request: { key: enc('k') } });
    for (let t = 0; t < 100_000 && created.length < watchers; t++) await turn();
    expect(created).toHaveLength(watchers);

    put('k', enc('v'));
    let turns = 0;
    while (delivered.length < watchers && turns < 10_000) {
      await turn();
      turns++;
    }
    expect(delivered).toEqual(created);
    // grpc-js's Writable sends the next message only after the previous one's socket write
    // completed: at least one turn per message, 300 here. Direct sending queues them all at once.
    expect(turns).toBeLessThan(watchers / 4);
    call.cancel();
  });

  test('a client that stops reading over a real connection has its watcher ended as too slow', async () => {
    const { hub, put, open } = await serve({ queuedEventsMax: 16 }, 256 * 1024);
    const call = open();
    let created = false;
    call.on('data', (r: WireWatchResponse) => {
      if (r.created) created = true;
    });
    call.write({ create_request: { key: enc('k') } });
    while (!created) await turn();
    expect(hub.watcherCount).toBe(1);
    call.pause();
    const value = new Uint8Array(64 * 1024);
    // 64 MB in all: more than the connection's flow-control windows and socket buffers hold,
    // so the server's sends stop completing and its bound must act.
    for (let i = 0; i < 1024 && hub.watcherCount > 0; i++) {
      put('k', value);
      if (i % 16 === 15) for (let t = 0; t < 20; t++) await turn();
    }
    expect(hub.watcherCount).toBe(0);
    call.cancel();
  });
});
