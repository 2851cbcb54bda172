/**
 * Proves the MembershipService handlers' own duties, calling them as grpc-js would with
 * stand-in call objects over the in-process store: wire fields and enums map both ways,
 * errors get their gRPC statuses (NOT_FOUND, INVALID_ARGUMENT, OUT_OF_RANGE), the snapshot
 * is sent in bounded chunks with snapshot_done on the last, changes follow one message per
 * revision, and cancelling a Subscribe leaves no watch behind.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, test } from 'vitest';
import type { WireHeader } from '../../src/api/header.js';
import { membershipHandlers, SNAPSHOT_CHUNK_INSTANCES_MAX } from '../../src/api/membership-service.js';
import { ServiceRegistry } from '../../src/coordination/membership.js';
import { settle } from '../coordination/support.js';
import { InProcessLeases, leasedKv } from '../coordination/support-leases.js';

// biome-ignore lint/suspicious/noExplicitAny: wire objects and stand-in calls
type Any = any;

const headerAt = (revision: number): WireHeader => ({ cluster_id: 1, member_id: 2, revision, raft_term: 3 });

function setup(drainTimeoutMs = 60_000) {
  const kv = leasedKv();
  const leases = new InProcessLeases(kv);
  const handlers: Any = membershipHandlers(
    new ServiceRegistry(kv, leases),
    kv,
    headerAt,
    () => headerAt(99),
    {
      drainTimeoutMs,
    },
  );
  const unary = (method: string, request: Any): Promise<Any> =>
    new Promise((resolve, reject) => {
      const call = Object.assign(new EventEmitter(), { request });
      handlers[method](call, (err: Error | null, res: Any) => (err ? reject(err) : resolve(res)));
    });
  return { kv, leases, handlers, unary };
}

function streamCall(handler: Any, request: Any, accepts = true) {
  const written: Any[] = [];
  const state = { ended: false, error: undefined as Any };
  const call = Object.assign(new EventEmitter(), {
    request,
    write: (m: Any) => {
      written.push(m);
      return accepts;
    },
    end: () => {
      state.ended = true;
    },
  });
  call.on('error', (e: Any) => {
    state.error = e;
  });
  handler(call);
  return { written, state, cancel: () => call.emit('cancelled', 'cancelled') };
}

describe('MembershipService handlers', () => {
  test('Register, SetState, ReportLoad, Get and KeepAlive speak cairn.v1 on the wire', async () => {
    const { unary } = setup();
    const reg = await unary('Register', {
      service: 'pay',
      instance_id: 'a',
      address: 'h:1',
      weight: 0,
      zone: 'z',
      metadata: { k: 'v' },
      ttl_seconds: 5,
      lease: 0,
      state: 0,
    });
    expect(reg.header).toEqual(headerAt(reg.revision));
    expect(reg.ttl_seconds).toBe(5);
    expect(reg.instance).toMatchObject({
      service: 'pay',
      instance_id: 'a',
      address: 'h:1',
      weight: 1,
      metadata: { k: 'v' },
      state: 1,
      load: null,
      lease: reg.lease,
      registered_at_revision: reg.revision,
    });
    const set = await unary('SetState', { service: 'pay', instance_id: 'a', state: 2 });
    expect(set.instance.state).toBe(2);
    const load = await unary('ReportLoad', {
      service: 'pay',
      instance_id: 'a',
      in_flight: 4,
      cpu_utilization: 0.75,
    });
    expect(load.instance.load).toMatchObject({ in_flight: 4, cpu_utilization: 0.75 });
    const got = await unary('Get', { service: 'pay', instance_id: 'a' });
    expect(got.instance).toEqual(load.instance);
    expect(await unary('KeepAlive', { lease: reg.lease })).toEqual({ header: headerAt(99), ttl_seconds: 5 });
  });

  test('errors carry their gRPC statuses', async () => {
    const { unary } = setup();
    const status = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        return (err as { code: grpc.status }).code;
      }
      return grpc.status.OK;
    };
    expect(await status(unary('Get', { service: 'pay', instance_id: 'x' }))).toBe(grpc.status.NOT_FOUND);
    expect(await status(unary('Deregister', { service: 'pay', instance_id: 'x' }))).toBe(
      grpc.status.NOT_FOUND,
    );
    expect(await status(unary('SetState', { service: 'pay', instance_id: 'x', state: 0 }))).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
    expect(
      await status(unary('Register', { service: '', instance_id: 'x', address: 'h', ttl_seconds: 5 })),
    ).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await status(unary('KeepAlive', { lease: 12345 }))).toBe(grpc.status.NOT_FOUND);
  });

  test('Subscribe sends the snapshot in bounded chunks, then one message per revision; cancelling closes its watch', async () => {
    const { kv, unary, handlers } = setup();
    const total = SNAPSHOT_CHUNK_INSTANCES_MAX + 10;
    for (let i = 0; i < total; i++)
      await unary('Register', { service: 'pay', instance_id: `i${i}`, address: `h:${i}`, ttl_seconds: 5 });
    const s = streamCall(handlers.Subscribe, { service: 'pay', prefix: false, from_revision: 0 });
    await settle();
    expect(s.written.map((m) => [m.snapshot.length, m.snapshot_done])).toEqual([
      [SNAPSHOT_CHUNK_INSTANCES_MAX, false],
      [10, true],
    ]);
    const snapRev = s.written[0].revision;
    expect(s.written[1].revision).toBe(snapRev);
    await unary('SetState', { service: 'pay', instance_id: 'i0', state: 3 });
    await unary('Deregister', { service: 'pay', instance_id: 'i1' });
    await settle();
    expect(
      s.written
        .slice(2)
        .map((m) => [
          m.revision,
          m.changes.map((c: Any) => [c.type, c.instance.instance_id, c.instance.state]),
        ]),
    ).toEqual([
      [snapRev + 1, [[1, 'i0', 3]]],
      [snapRev + 2, [[2, 'i1', 1]]],
    ]);
    s.cancel();
    await settle();
    expect(kv.feed.watcherCount).toBe(0);
    expect(s.state.error).toBeUndefined();
  });

  test('Subscribe from a compacted revision fails OUT_OF_RANGE and says to resubscribe with a snapshot', async () => {
    const { kv, unary, handlers } = setup();
    await unary('Register', { service: 'pay', instance_id: 'a', address: 'h:1', ttl_seconds: 5 });
    await unary('SetState', { service: 'pay', instance_id: 'a', state: 3 });
    kv.apply({ type: 'compact', request: { revision: kv.store.currentRevision } });
    const s = streamCall(handlers.Subscribe, { service: 'pay', prefix: false, from_revision: 1 });
    await settle();
    expect(s.state.error).toMatchObject({ code: grpc.status.OUT_OF_RANGE });
    expect(s.state.error.details).toContain('fresh snapshot');
  });

  test('a Subscribe stream that stays full past the drain timeout is cut off RESOURCE_EXHAUSTED, leaving no watch', async () => {
    const { kv, unary, handlers } = setup(20);
    await unary('Register', { service: 'pay', instance_id: 'a', address: 'h:1', ttl_seconds: 5 });
    const s = streamCall(handlers.Subscribe, { service: 'pay', prefix: false, from_revision: 0 }, false);
    for (let i = 0; i < 200 && !s.state.error; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.state.error).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect(s.state.error.details).toContain('too slow');
    expect(s.written).toHaveLength(1);
    await settle();
    expect(kv.feed.watcherCount).toBe(0);
  });
});
