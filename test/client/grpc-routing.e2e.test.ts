/**
 * Proves the grpc-js integration end to end against a real three-member cluster and three
 * real gRPC echo servers registered through client.registry: calls to `cairn:///echo` reach
 * all three in equal shares (round robin); a DRAINING instance, a deregistered one, and one
 * whose registration was abandoned (keep-alive stopped, lease left to expire) stop getting
 * calls while calls keep flowing to the others; least connections sees every call in flight
 * through the picker's hooks; and a registration whose lease is revoked from outside
 * registers again on a new lease.
 *
 * How "stops routing within a second" is shown without a flaky clock assertion: the test
 * listens to the very ServiceView the channel's resolver follows (a tapped ViewSource), after
 * the resolver's own listener, so when the test's listener runs grpc-js has already been
 * handed the new endpoints. Every call started from then on must miss the removed instance:
 * that is checked exactly. The time from the change (the deregistration's acknowledgement,
 * or the lease's deadline: abandon + TTL) to the channel knowing it is measured, printed,
 * and bounded only generously (5 s); on an idle machine it is a few milliseconds (one watch
 * event), the whole of the one-second budget being what a loaded machine may need.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InFlightCounter, LeastConnectionsBalancer } from '../../src/client/balancers/least-connections.js';
import { Client } from '../../src/client/client.js';
import { cairnChannelOptions } from '../../src/client/grpc/index.js';
import type { ViewSource } from '../../src/client/grpc/options.js';
import type { Registration } from '../../src/client/registration.js';
import type { ServiceInstance } from '../../src/client/registry-types.js';
import type { ServiceView } from '../../src/client/service-view.js';
import { TestCluster } from '../support/cluster.js';
import { EchoClient, type EchoServer, echo, startEchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';

let cluster: TestCluster;
let client: Client;
let outside: Client;
let servers: EchoServer[] = [];
const channels: grpc.Client[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start();
  // A loaded machine can take a while to start three members.
  await cluster.leaderName(90_000);
  client = new Client({ endpoints: cluster.endpoints(), deadlineMs: 8000 });
  outside = new Client({ endpoints: cluster.endpoints(), deadlineMs: 8000 });
  servers = await Promise.all(['a', 'b', 'c'].map(startEchoServer));
}, 120_000);

afterAll(async () => {
  for (const ch of channels) ch.close();
  await client?.close();
  await outside?.close();
  await Promise.all(servers.map((s) => s.stop()));
  await cluster?.stop();
});

function server(name: string): EchoServer {
  return servers.find((s) => s.name === name) as EchoServer;
}

function channelTo(service: string, options: grpc.ChannelOptions = cairnChannelOptions(client)): grpc.Client {
  const ch = new EchoClient(`cairn:///${service}`, grpc.credentials.createInsecure(), options);
  channels.push(ch);
  return ch;
}

/** The views the channels' resolvers subscribed to through `tapped`. */
const channelViews: ServiceView[] = [];

/** client's registry, handing the test every view a channel's resolver makes. */
const tapped: ViewSource = {
  registry: {
    subscribe(service, options) {
      const view = client.registry.subscribe(service, options);
      channelViews.push(view);
      return view;
    },
  },
};

/** A removal as the channel's resolver sees it. */
interface Removal {
  /** True from the tick in which the resolver reported the instance gone to grpc-js. */
  known(): boolean;
  /** When it became known (ms since epoch). */
  readonly atMs: Promise<number>;
}

/**
 * Listens (after the resolver) to the channel's view of `service` until `id` is no longer
 * SERVING in it. Call before making the change.
 */
function removalOf(service: string, id: string): Removal {
  const view = channelViews.find((v) => v.service === service);
  if (!view) throw new Error(`no channel follows ${service}`);
  let known = false;
  const atMs = new Promise<number>((resolve) => {
    const check = (list: readonly ServiceInstance[]) => {
      if (list.some((i) => i.id === id && i.state === 'SERVING')) return;
      known = true;
      view.off('change', check);
      resolve(Date.now());
    };
    view.on('change', check);
  });
  return { known: () => known, atMs };
}

/** One reply: which server answered, and whether the call started once the removal was known. */
interface Reply {
  server: string;
  startedAfterRemoval: boolean;
}

/** Calls from `workers` loops until stopped; each reply notes whether its call started after `removal` was known. */
function traffic(channel: grpc.Client, removal: Removal, workers = 4) {
  const replies: Reply[] = [];
  const failures: unknown[] = [];
  let stopped = false;
  const loops = Promise.all(
    Array.from({ length: workers }, async () => {
      while (!stopped) {
        const startedAfterRemoval = removal.known();
        try {
          replies.push({ server: (await echo(channel)).server, startedAfterRemoval });
        } catch (err) {
          failures.push(err);
        }
      }
    }),
  );
  return {
    replies,
    failures,
    async stop(): Promise<void> {
      stopped = true;
      await loops;
    },
  };
}

/** Waits for the removal (at most 10 s), then lets traffic run `thenMs` more; answers when it became known. */
async function removalThen(removal: Removal, thenMs: number): Promise<number> {
  const atMs = await Promise.race([
    removal.atMs,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the channel never saw the removal')), 10_000),
    ),
  ]);
  await new Promise((r) => setTimeout(r, thenMs));
  return atMs;
}

/** Who answered the calls started after the removal was known. */
function serversAfter(replies: readonly Reply[]): Map<string, number> {
  const by = new Map<string, number>();
  for (const r of replies) if (r.startedAfterRemoval) by.set(r.server, (by.get(r.server) ?? 0) + 1);
  return by;
}

/** The last time `s` got a call, relative to `atMs` (negative: before). */
function lastArrivalAfter(s: EchoServer, atMs: number): number {
  return (s.arrivals.at(-1) ?? 0) - atMs;
}

describe('routing through cairn:///echo', () => {
  const regs = new Map<string, Registration>();
  let channel: grpc.Client;

  it('reaches all three instances in equal shares with round robin', async () => {
    for (const s of servers) {
      regs.set(
        s.name,
        await client.registry.register(
          { service: 'echo', id: s.name, address: s.address },
          { ttlSeconds: 2 },
        ),
      );
    }
    channel = channelTo('echo', cairnChannelOptions(tapped, { policy: 'round_robin' }));
    // Until every connection is up, round robin only sees the ready ones.
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add((await echo(channel)).server);
      expect([...seen].sort()).toEqual(['a', 'b', 'c']);
    }, 10_000);
    const by = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const r = await echo(channel);
      by.set(r.server, (by.get(r.server) ?? 0) + 1);
    }
    for (const name of ['a', 'b', 'c']) {
      expect(by.get(name)).toBeGreaterThanOrEqual(90);
      expect(by.get(name)).toBeLessThanOrEqual(110);
    }
  });

  /**
   * Sends traffic while remove() takes instance `id` out (it resolves with the moment the
   * removal was due: acknowledged, or the lease's deadline), waits until the channel knows, and
   * checks that no call failed, none reached `id` from then on, and every one of `others` got
   * calls. `what` names the removal in the printed delay.
   */
  async function expectRoutedAround(
    id: string,
    others: readonly string[],
    what: string,
    remove: () => Promise<number>,
  ): Promise<void> {
    const removal = removalOf('echo', id);
    const calls = traffic(channel, removal);
    const dueMs = await remove();
    const knownMs = await removalThen(removal, 1500);
    await calls.stop();
    console.info(
      `${what}: the channel knew ${knownMs - dueMs} ms after it was due; ${id}'s last call arrived ${lastArrivalAfter(server(id), knownMs)} ms after that`,
    );
    expect(knownMs - dueMs).toBeLessThan(5000);
    expect(calls.failures).toEqual([]);
    const after = serversAfter(calls.replies);
    expect(after.get(id)).toBeUndefined();
    for (const other of others) expect(after.get(other)).toBeGreaterThan(0);
  }

  it('sends no new call to a DRAINING instance, and calls again once it serves', async () => {
    await expectRoutedAround('b', ['a', 'c'], 'DRAINING b (from the acknowledgement)', async () => {
      await regs.get('b')!.setState('DRAINING');
      return Date.now();
    });
    await regs.get('b')!.setState('SERVING');
    const servingMs = Date.now();
    await eventually(
      async () => {
        await echo(channel);
        expect(server('b').arrivals.filter((t) => t > servingMs).length).toBeGreaterThan(0);
      },
      5000,
      20,
    );
  });

  it('sends no call to a deregistered instance once the channel knows, within 5 s of the acknowledgement', async () => {
    await expectRoutedAround('c', ['a', 'b'], 'deregistered c (from the acknowledgement)', async () => {
      const revision = await regs.get('c')!.deregister();
      expect(revision).toBeGreaterThan(0);
      return Date.now();
    });
    await expect(client.registry.get('echo', 'c')).rejects.toMatchObject({ code: 'INSTANCE_NOT_FOUND' });
  });

  it('stops sending calls to an instance whose lease expired, once the channel knows', async () => {
    const a = regs.get('a')!;
    const ttlMs = a.lease.ttlSeconds * 1000;
    await expectRoutedAround('a', ['b'], 'expired a (from abandon + TTL)', async () => {
      a.abandon();
      // The last keep-alive came before the abandon, so the lease is due by then at the latest.
      return Date.now() + ttlMs;
    });
    await expect(client.registry.get('echo', 'a')).rejects.toMatchObject({ code: 'INSTANCE_NOT_FOUND' });
    await regs.get('b')!.deregister();
  });
});

describe('least connections through the picker', () => {
  it('counts every call in flight while it runs, and none after', async () => {
    const regs = await Promise.all(
      servers.map((s) => client.registry.register({ service: 'echo-lc', id: s.name, address: s.address })),
    );
    const counter = new InFlightCounter();
    const channel = channelTo(
      'echo-lc',
      cairnChannelOptions(client, { balancer: () => new LeastConnectionsBalancer({ counter }) }),
    );
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add((await echo(channel)).server);
      expect(seen.size).toBe(3);
    }, 10_000);
    const inFlight = (): number => ['a', 'b', 'c'].reduce((n, id) => n + counter.get(id), 0);
    expect(inFlight()).toBe(0);
    const calls = Array.from({ length: 9 }, () => echo(channel, { delayMs: 1500 }, 5000));
    await eventually(async () => expect(inFlight()).toBe(9), 1200, 20);
    const replies = await Promise.all(calls);
    expect(replies).toHaveLength(9);
    expect(inFlight()).toBe(0);
    await Promise.all(regs.map((r) => r.deregister()));
  });
});

describe('re-registration', () => {
  it('registers again on a new lease after the lease is revoked from outside', async () => {
    const reg = await client.registry.register(
      { service: 'echo-rereg', id: 'a', address: server('a').address, zone: 'z1', weight: 3 },
      { ttlSeconds: 2 },
    );
    const view = client.registry.subscribe('echo-rereg');
    await view.ready();
    expect(view.instances().map((i) => i.id)).toEqual(['a']);
    const oldLease = reg.lease.id;
    const lost = once(reg, 'lost');
    const restored = once(reg, 'restored');
    await outside.leases.revoke(oldLease);
    await lost;
    const [instance] = await restored;
    expect(reg.isRegistered).toBe(true);
    expect(reg.lease.id).not.toBe(oldLease);
    expect(instance).toMatchObject({ id: 'a', zone: 'z1', weight: 3, lease: reg.lease.id, state: 'SERVING' });
    expect((await client.registry.get('echo-rereg', 'a')).lease).toBe(reg.lease.id);
    await eventually(
      async () => expect(view.instances().map((i) => i.lease)).toEqual([reg.lease.id]),
      5000,
      20,
    );
    // The new lease is kept alive: the instance outlives its TTL.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await client.registry.get('echo-rereg', 'a')).lease).toBe(reg.lease.id);
    await reg.deregister();
    await eventually(async () => expect(view.instances()).toEqual([]), 5000, 20);
    view.close();
  });
});
