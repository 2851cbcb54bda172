/**
 * Proves the service registry recipe over a real MvccStore in process (InProcessKv with a
 * lease table): each write changes the record key and etcd's naming key together on the
 * instance's lease, removals and state changes keep the naming key in step and never touch
 * one another registration owns, writes to a missing instance fail INSTANCE_NOT_FOUND (also
 * after a lease ends), concurrent writes lose nothing, and subscriptions deliver a snapshot
 * then every change in revision order, resume from a revision without a gap, and end with a
 * clear error when compacted or too slow.
 */
import { describe, expect, test } from 'vitest';
import { HubWatches } from '../../src/api/hub-watches.js';
import { ErrorCode } from '../../src/common/errors.js';
import { type RegisterInput, ServiceRegistry } from '../../src/coordination/membership.js';
import type { Instance } from '../../src/coordination/membership-records.js';
import { type SubscriptionEvent, subscribe } from '../../src/coordination/membership-subscribe.js';
import type { WatchBatch, WatchRange } from '../../src/coordination/ports.js';
import { type TxnRequest, type TxnResponse, WatchHub } from '../../src/mvcc/index.js';
import { b, type InProcessKv, settle, str } from './support.js';
import { InProcessLeases, leasedKv } from './support-leases.js';

const NOW_MS = 1_700_000_000_000;

function setup(): { kv: InProcessKv; leases: InProcessLeases; registry: ServiceRegistry } {
  const kv = leasedKv();
  const leases = new InProcessLeases(kv);
  return { kv, leases, registry: new ServiceRegistry(kv, leases, { nowMs: () => NOW_MS }) };
}

function input(service: string, instanceId: string, over: Partial<RegisterInput> = {}): RegisterInput {
  return {
    service,
    instanceId,
    address: `10.0.0.${instanceId.length}:${instanceId.charCodeAt(0)}`,
    weight: 0,
    zone: 'z1',
    metadata: {},
    ttlSeconds: 10,
    lease: 0,
    state: 'SERVING',
    ...over,
  };
}

function keyOf(kv: InProcessKv, key: string) {
  return kv.store.range({ key: b(key) }).kvs[0];
}

/** Collects a subscription's events until stopped or failed. */
function collect(kv: InProcessKv, service: string, prefix: boolean, from: number) {
  const events: SubscriptionEvent[] = [];
  const stop = new AbortController();
  const state: { error?: unknown } = {};
  const done = (async () => {
    try {
      for await (const ev of subscribe(kv, { service, prefix }, from, stop.signal)) events.push(ev);
    } catch (err) {
      state.error = err;
    }
  })();
  return { events, state, stop: () => stop.abort(), done };
}

/** A view (instance id -> record) rebuilt from a subscription's events, as a balancer would. */
function viewOf(
  events: readonly SubscriptionEvent[],
  start = new Map<string, Instance>(),
): Map<string, Instance> {
  const view = new Map(start);
  for (const ev of events) {
    if (ev.kind === 'snapshot') {
      view.clear();
      for (const i of ev.instances) view.set(`${i.service}/${i.instanceId}`, i);
    } else {
      for (const c of ev.changes) {
        const id = `${c.instance.service}/${c.instance.instanceId}`;
        if (c.type === 'upsert') view.set(id, c.instance);
        else view.delete(id);
      }
    }
  }
  return view;
}

describe('service registry writes', () => {
  test('Register writes the record and the naming key in one revision, both on the granted lease', async () => {
    const { kv, registry } = setup();
    const r = await registry.register(
      input('pay', 'i1', { address: '10.1.1.1:443', weight: 5, metadata: { ver: '2' } }),
    );
    expect(r.ttlSeconds).toBe(10);
    const rec = keyOf(kv, '/cairn/members/pay/i1')!;
    const naming = keyOf(kv, 'pay/10.1.1.1:443')!;
    expect(rec.lease).toBe(r.lease);
    expect(naming.lease).toBe(r.lease);
    expect(rec.modRevision).toBe(r.revision);
    expect(naming.modRevision).toBe(r.revision);
    expect(JSON.parse(str(rec.value))).toEqual({
      service: 'pay',
      instanceId: 'i1',
      address: '10.1.1.1:443',
      weight: 5,
      zone: 'z1',
      metadata: { ver: '2' },
      state: 'SERVING',
      load: null,
      registeredAtUnixMs: NOW_MS,
    });
    expect(JSON.parse(str(naming.value))).toEqual({ Addr: '10.1.1.1:443', Metadata: { ver: '2' } });
    const got = await registry.get('pay', 'i1');
    expect(got.instance).toEqual(r.instance);
    expect(got.instance.registeredAtRevision).toBe(r.revision);
    expect(got.instance.lease).toBe(r.lease);
  });

  test('Register binds to an existing lease, and refuses a missing lease, both or neither of ttl/lease, and bad names', async () => {
    const { kv, leases, registry } = setup();
    const { id } = await leases.grant(30);
    const r = await registry.register(input('pay', 'i1', { ttlSeconds: 0, lease: id }));
    expect(r.lease).toBe(id);
    expect(r.ttlSeconds).toBe(0);
    const before = kv.store.currentRevision;
    await expect(
      registry.register(input('pay', 'i2', { ttlSeconds: 0, lease: 0xdead })),
    ).rejects.toMatchObject({
      code: ErrorCode.LEASE_NOT_FOUND,
    });
    await expect(registry.register(input('pay', 'i2', { ttlSeconds: 5, lease: id }))).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(registry.register(input('pay', 'i2', { ttlSeconds: 0 }))).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    for (const [service, instanceId] of [
      ['', 'x'],
      ['/pay', 'x'],
      ['pay/', 'x'],
      ['pay', ''],
      ['pay', 'a/b'],
    ] as const) {
      await expect(
        registry.register(input(service, instanceId, { ttlSeconds: 0, lease: id })),
      ).rejects.toMatchObject({
        code: ErrorCode.INVALID_ARGUMENT,
      });
    }
    expect(kv.store.currentRevision).toBe(before);
  });

  test('SetState keeps the naming key in step: only SERVING instances have one; the same state writes nothing', async () => {
    const { kv, registry } = setup();
    const r = await registry.register(input('pay', 'i1', { address: 'h:1' }));
    const drained = await registry.setState('pay', 'i1', 'DRAINING');
    expect(drained.instance.state).toBe('DRAINING');
    expect(keyOf(kv, 'pay/h:1')).toBeUndefined();
    const again = await registry.setState('pay', 'i1', 'DRAINING');
    expect(again.revision).toBe(drained.revision);
    expect(kv.store.currentRevision).toBe(drained.revision);
    await registry.setState('pay', 'i1', 'DOWN');
    expect(keyOf(kv, 'pay/h:1')).toBeUndefined();
    const back = await registry.setState('pay', 'i1', 'SERVING');
    expect(keyOf(kv, 'pay/h:1')!.lease).toBe(r.lease);
    expect(keyOf(kv, 'pay/h:1')!.modRevision).toBe(back.revision);
    expect(keyOf(kv, '/cairn/members/pay/i1')!.lease).toBe(r.lease);
  });

  test('ReportLoad changes only the record; a missing instance gets INSTANCE_NOT_FOUND for every write', async () => {
    const { kv, registry } = setup();
    const r = await registry.register(input('pay', 'i1', { address: 'h:1' }));
    const loaded = await registry.reportLoad('pay', 'i1', { inFlight: 7, cpuUtilization: 0.25 });
    expect(loaded.instance.load).toEqual({ inFlight: 7, cpuUtilization: 0.25, reportedAtUnixMs: NOW_MS });
    expect(keyOf(kv, 'pay/h:1')!.modRevision).toBe(r.revision);
    expect(JSON.parse(str(keyOf(kv, '/cairn/members/pay/i1')!.value)).load.inFlight).toBe(7);
    await expect(registry.reportLoad('pay', 'i1', { inFlight: -1, cpuUtilization: 0 })).rejects.toMatchObject(
      {
        code: ErrorCode.INVALID_ARGUMENT,
      },
    );
    for (const call of [
      () => registry.setState('pay', 'nope', 'DOWN'),
      () => registry.reportLoad('pay', 'nope', { inFlight: 1, cpuUtilization: 0 }),
      () => registry.deregister('pay', 'nope'),
      () => registry.get('pay', 'nope'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: ErrorCode.INSTANCE_NOT_FOUND });
    }
  });

  test('Deregister removes both keys in one revision; a second Deregister is INSTANCE_NOT_FOUND', async () => {
    const { kv, registry } = setup();
    await registry.register(input('pay', 'i1', { address: 'h:1' }));
    const rev = await registry.deregister('pay', 'i1');
    expect(kv.store.currentRevision).toBe(rev);
    expect(keyOf(kv, '/cairn/members/pay/i1')).toBeUndefined();
    expect(keyOf(kv, 'pay/h:1')).toBeUndefined();
    await expect(registry.deregister('pay', 'i1')).rejects.toMatchObject({
      code: ErrorCode.INSTANCE_NOT_FOUND,
    });
  });

  test('an ended lease removes both keys, and later writes do not bring the instance back', async () => {
    const { kv, leases, registry } = setup();
    const r = await registry.register(input('pay', 'i1', { address: 'h:1' }));
    await leases.revoke(r.lease);
    expect(keyOf(kv, '/cairn/members/pay/i1')).toBeUndefined();
    expect(keyOf(kv, 'pay/h:1')).toBeUndefined();
    await expect(registry.setState('pay', 'i1', 'DOWN')).rejects.toMatchObject({
      code: ErrorCode.INSTANCE_NOT_FOUND,
    });
    await expect(registry.keepAlive(r.lease)).rejects.toMatchObject({ code: ErrorCode.LEASE_NOT_FOUND });
  });

  test('re-registering elsewhere moves the naming key; removals never delete a naming key another registration owns', async () => {
    const { kv, registry } = setup();
    const first = await registry.register(input('pay', 'old', { address: 'h:1' }));
    await registry.register(input('pay', 'old', { address: 'h:2', ttlSeconds: 0, lease: first.lease }));
    expect(keyOf(kv, 'pay/h:1')).toBeUndefined();
    expect(keyOf(kv, 'pay/h:2')!.lease).toBe(first.lease);
    // The instance restarts under a new id and a new lease before the old lease ends.
    const second = await registry.register(input('pay', 'new', { address: 'h:2' }));
    expect(keyOf(kv, 'pay/h:2')!.lease).toBe(second.lease);
    await registry.setState('pay', 'old', 'DOWN');
    await registry.deregister('pay', 'old');
    expect(keyOf(kv, 'pay/h:2')!.lease).toBe(second.lease);
    expect(
      (await registry.list({ service: 'pay', prefix: false })).instances.map((i) => i.instanceId),
    ).toEqual(['new']);
  });

  test('concurrent writes to one instance lose nothing (read-modify-write retries on a conflict)', async () => {
    const { registry } = setup();
    await registry.register(input('pay', 'i1'));
    await Promise.all([
      registry.setState('pay', 'i1', 'DRAINING'),
      registry.reportLoad('pay', 'i1', { inFlight: 3, cpuUtilization: 0.5 }),
      registry.reportLoad('pay', 'i1', { inFlight: 3, cpuUtilization: 0.5 }),
    ]);
    const got = (await registry.get('pay', 'i1')).instance;
    expect(got.state).toBe('DRAINING');
    expect(got.load?.inFlight).toBe(3);
  });

  test('List covers one service (not its sub-services) or, with prefix, every service under the prefix', async () => {
    const { kv, registry } = setup();
    await registry.register(input('pay', 'a'));
    await registry.register(input('pay', 'b'));
    await registry.register(input('pay/eu', 'c'));
    await registry.register(input('payroll', 'd'));
    kv.apply({ type: 'put', request: { key: b('/cairn/members/pay/junk'), value: b('not json') } });
    const ids = async (service: string, prefix: boolean) =>
      (await registry.list({ service, prefix })).instances.map((i) => `${i.service}/${i.instanceId}`);
    expect(await ids('pay', false)).toEqual(['pay/a', 'pay/b']);
    expect(await ids('pay/', true)).toEqual(['pay/eu/c']);
    expect(await ids('pay', true)).toEqual(['pay/a', 'pay/b', 'pay/eu/c', 'payroll/d']);
    expect(await ids('', true)).toHaveLength(4);
  });
});

describe('service registry subscriptions', () => {
  test('a snapshot, then every registration, state change, load report, removal and expiry in revision order', async () => {
    const { kv, leases, registry } = setup();
    await registry.register(input('pay', 'a'));
    const sub = collect(kv, 'pay', false, 0);
    await settle();
    const bReg = await registry.register(input('pay', 'b'));
    await registry.register(input('other', 'x'));
    await registry.setState('pay', 'a', 'DRAINING');
    await registry.reportLoad('pay', 'b', { inFlight: 1, cpuUtilization: 0.1 });
    await registry.deregister('pay', 'a');
    await registry.register(input('pay', 'c'));
    await leases.revoke(bReg.lease);
    await settle();
    sub.stop();
    await sub.done;
    expect(sub.state.error).toBeUndefined();
    const [snap, ...changes] = sub.events;
    expect(snap).toMatchObject({ kind: 'snapshot', instances: [{ instanceId: 'a', state: 'SERVING' }] });
    const summary = changes.map((ev) =>
      ev.kind === 'changes'
        ? ev.changes.map((c) => `${c.type} ${c.instance.instanceId} ${c.instance.state}`)
        : [],
    );
    expect(summary).toEqual([
      ['upsert b SERVING'],
      ['upsert a DRAINING'],
      ['upsert b SERVING'],
      ['delete a DRAINING'],
      ['upsert c SERVING'],
      ['delete b SERVING'],
    ]);
    const revisions = sub.events.map((e) => e.revision);
    expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
    expect(new Set(revisions).size).toBe(revisions.length);
    const view = viewOf(sub.events);
    const listed = (await registry.list({ service: 'pay', prefix: false })).instances;
    expect([...view.values()]).toEqual(listed);
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('one revision that ends several instances (a shared lease) comes as one event', async () => {
    const { kv, leases, registry } = setup();
    const { id } = await leases.grant(10);
    await registry.register(input('pay', 'a', { ttlSeconds: 0, lease: id }));
    await registry.register(input('pay', 'b', { ttlSeconds: 0, lease: id }));
    const sub = collect(kv, 'pay', false, 0);
    await settle();
    await leases.revoke(id);
    await settle();
    sub.stop();
    await sub.done;
    expect(sub.events).toHaveLength(2);
    const ev = sub.events[1]!;
    expect(ev.kind === 'changes' && ev.changes.map((c) => `${c.type} ${c.instance.instanceId}`)).toEqual([
      'delete a',
      'delete b',
    ]);
  });

  test('a subscriber that resumes from its last revision + 1 ends with the same view as one that never stopped', async () => {
    const { kv, registry } = setup();
    const whole = collect(kv, 'pay', false, 0);
    const first = collect(kv, 'pay', false, 0);
    await settle();
    for (let i = 0; i < 10; i++) await registry.register(input('pay', `i${i}`));
    await settle();
    first.stop();
    await first.done;
    const last = first.events[first.events.length - 1]!.revision;
    // Changes while it is away.
    for (let i = 0; i < 10; i += 2) await registry.setState('pay', `i${i}`, 'DOWN');
    for (let i = 1; i < 10; i += 3) await registry.deregister('pay', `i${i}`);
    const resumed = collect(kv, 'pay', false, last + 1);
    await settle();
    await registry.register(input('pay', 'late'));
    await settle();
    resumed.stop();
    whole.stop();
    await Promise.all([resumed.done, whole.done]);
    expect(resumed.events.every((e) => e.kind === 'changes')).toBe(true);
    expect(resumed.events[0]!.revision).toBe(last + 1);
    const stitched = viewOf(resumed.events, viewOf(first.events));
    expect(stitched).toEqual(viewOf(whole.events));
    expect([...stitched.values()]).toEqual(
      (await registry.list({ service: 'pay', prefix: false })).instances,
    );
  });

  test('a prefix subscription sees every service under the prefix; an exact one only its own instances', async () => {
    const { kv, registry } = setup();
    const exact = collect(kv, 'pay', false, 0);
    const prefixed = collect(kv, 'pay', true, 0);
    await settle();
    await registry.register(input('pay', 'a'));
    await registry.register(input('pay/eu', 'b'));
    await registry.register(input('payroll', 'c'));
    await settle();
    exact.stop();
    prefixed.stop();
    await Promise.all([exact.done, prefixed.done]);
    expect([...viewOf(exact.events).keys()]).toEqual(['pay/a']);
    expect([...viewOf(prefixed.events).keys()]).toEqual(['pay/a', 'pay/eu/b', 'payroll/c']);
  });

  test('resuming from a compacted revision fails SUBSCRIPTION_COMPACTED', async () => {
    const { kv, registry } = setup();
    await registry.register(input('pay', 'a'));
    await registry.setState('pay', 'a', 'DOWN');
    kv.apply({ type: 'compact', request: { revision: kv.store.currentRevision } });
    const sub = collect(kv, 'pay', false, 2);
    await sub.done;
    expect(sub.state.error).toMatchObject({ code: ErrorCode.SUBSCRIPTION_COMPACTED });
    expect(sub.events).toEqual([]);
  });

  test('a subscriber that stops reading is cut off with SUBSCRIBER_TOO_SLOW once the bounded queues fill', async () => {
    const { kv, leases } = setup();
    // The same store behind a watch hub with small bounds.
    const hub = new WatchHub(kv.store, { queuedEventsMax: 8 });
    const feed = new HubWatches(hub, { queuedBatchesMax: 4 });
    const small = {
      range: kv.range.bind(kv),
      waitDelete: kv.waitDelete.bind(kv),
      watch: (r: WatchRange, f: number, s: AbortSignal): AsyncIterable<WatchBatch> => feed.watch(r, f, s),
      txn: async (req: TxnRequest): Promise<TxnResponse> => {
        const r = kv.store.apply({ type: 'txn', request: req });
        if (!r.ok) throw r.error;
        if (r.events.length > 0) {
          kv.hub.notify(kv.store.currentRevision, r.events);
          hub.notify(kv.store.currentRevision, r.events);
        }
        return r.response;
      },
    };
    const slowRegistry = new ServiceRegistry(small, leases, { nowMs: () => NOW_MS });
    const { id } = await leases.grant(10);
    const stop = new AbortController();
    const it = subscribe(small, { service: 'pay', prefix: false }, 0, stop.signal)[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ kind: 'snapshot' });
    const pending = it.next();
    for (let i = 0; i < 40; i++)
      await slowRegistry.register(input('pay', `i${i}`, { ttlSeconds: 0, lease: id }));
    // It reads again only now: what was queued comes first, then the reason it was cut off.
    let error: unknown;
    try {
      await pending;
      for (;;) if ((await it.next()).done) break;
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: ErrorCode.SUBSCRIBER_TOO_SLOW });
    expect(feed.watcherCount).toBe(0);
  });
});
