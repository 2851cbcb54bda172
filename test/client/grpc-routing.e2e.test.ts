/**
 * Proves the grpc-js integration end to end against a real three-member cluster and three
 * real gRPC echo servers registered through client.registry: calls to `cairn:///echo` reach
 * all three in equal shares (round robin); a DRAINING instance, a deregistered one, and one
 * whose registration was abandoned (keep-alive stopped, lease left to expire) get no call
 * later than 1 s after the change was acknowledged (TTL + 1 s after the abandon) while calls
 * keep flowing to the others; least connections sees every call in flight through the
 * picker's hooks; and a registration whose lease is revoked from outside registers again on
 * a new lease. Arrival times are recorded by the servers themselves.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InFlightCounter, LeastConnectionsBalancer } from '../../src/client/balancers/least-connections.js';
import { Client } from '../../src/client/client.js';
import { cairnChannelOptions } from '../../src/client/grpc/index.js';
import type { Registration } from '../../src/client/registration.js';
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

/** Calls from `workers` loops until untilMs; answers the replies by server and the failures. */
async function callUntil(
  channel: grpc.Client,
  untilMs: number,
  workers = 4,
): Promise<{ by: Map<string, number>; failures: unknown[] }> {
  const by = new Map<string, number>();
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < untilMs) {
        try {
          const r = await echo(channel);
          by.set(r.server, (by.get(r.server) ?? 0) + 1);
        } catch (err) {
          failures.push(err);
        }
      }
    }),
  );
  return { by, failures };
}

function arrivalsAfter(s: EchoServer, atMs: number): number {
  return s.arrivals.filter((t) => t > atMs).length;
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
    channel = channelTo('echo', cairnChannelOptions(client, { policy: 'round_robin' }));
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

  it('sends no new call to a DRAINING instance, and calls again once it serves', async () => {
    await regs.get('b')!.setState('DRAINING');
    const ackMs = Date.now();
    const { by, failures } = await callUntil(channel, ackMs + 2000);
    expect(failures).toEqual([]);
    expect(arrivalsAfter(server('b'), ackMs + 1000)).toBe(0);
    expect(arrivalsAfter(server('a'), ackMs + 1000)).toBeGreaterThan(0);
    expect(arrivalsAfter(server('c'), ackMs + 1000)).toBeGreaterThan(0);
    expect((by.get('a') ?? 0) + (by.get('c') ?? 0)).toBeGreaterThan(by.get('b') ?? 0);
    await regs.get('b')!.setState('SERVING');
    const servingMs = Date.now();
    await eventually(
      async () => {
        await echo(channel);
        expect(arrivalsAfter(server('b'), servingMs)).toBeGreaterThan(0);
      },
      5000,
      20,
    );
  });

  it('sends no call to a deregistered instance later than 1 s after the acknowledgement', async () => {
    const revision = await regs.get('c')!.deregister();
    const ackMs = Date.now();
    expect(revision).toBeGreaterThan(0);
    const { failures } = await callUntil(channel, ackMs + 2000);
    expect(failures).toEqual([]);
    expect(arrivalsAfter(server('c'), ackMs + 1000)).toBe(0);
    expect(arrivalsAfter(server('a'), ackMs + 1000)).toBeGreaterThan(0);
    expect(arrivalsAfter(server('b'), ackMs + 1000)).toBeGreaterThan(0);
    await expect(client.registry.get('echo', 'c')).rejects.toMatchObject({ code: 'INSTANCE_NOT_FOUND' });
  });

  it('stops sending calls to an instance whose registration was abandoned within TTL + 1 s', async () => {
    const a = regs.get('a')!;
    const ttlMs = a.lease.ttlSeconds * 1000;
    a.abandon();
    const abandonedMs = Date.now();
    const { failures } = await callUntil(channel, abandonedMs + ttlMs + 2000);
    expect(failures).toEqual([]);
    expect(arrivalsAfter(server('a'), abandonedMs + ttlMs + 1000)).toBe(0);
    expect(arrivalsAfter(server('b'), abandonedMs + ttlMs + 1000)).toBeGreaterThan(0);
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
