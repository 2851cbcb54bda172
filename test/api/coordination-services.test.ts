/**
 * Proves the Lock and Election gRPC handlers' own duties, calling them as grpc-js would with
 * stand-in call objects over the in-process store: requests are validated with etcd's
 * statuses and strings, a client cancelling a waiting Lock, Campaign or Observe ends the
 * wait with no watch left registered and the waiter's key removed, and Observe writes the
 * leader's values to its stream.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, test } from 'vitest';
import { electionHandlers } from '../../src/api/election-service.js';
import type { WireHeader } from '../../src/api/header.js';
import { lockHandlers } from '../../src/api/lock-service.js';
import { b, InProcessKv, settle, str } from '../coordination/support.js';

// biome-ignore lint/suspicious/noExplicitAny: wire objects and stand-in calls
type Any = any;

const headerAt = (revision: number): WireHeader => ({ cluster_id: 1, member_id: 2, revision, raft_term: 3 });

/** A unary call as grpc-js hands it to a handler; cancel() is what a client cancelling looks like. */
function unaryCall(handler: Any, request: Any): { result: Promise<Any>; cancel: () => void } {
  const call = Object.assign(new EventEmitter(), { request, cancelled: false });
  const result = new Promise((resolve, reject) => {
    handler(call, (err: Error | null, res: Any) => (err ? reject(err) : resolve(res)));
  });
  result.catch(() => {});
  return {
    result,
    cancel: () => {
      call.cancelled = true;
      call.emit('cancelled', 'cancelled');
    },
  };
}

/** A server-streaming call collecting what the handler writes. */
function streamCall(handler: Any, request: Any) {
  const written: Any[] = [];
  const state = { ended: false, error: undefined as Any };
  const call = Object.assign(new EventEmitter(), {
    request,
    write: (m: Any) => {
      written.push(m);
      return true;
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

describe('Lock and Election handlers', () => {
  test("bad requests get etcd's statuses and strings", async () => {
    const kv = new InProcessKv();
    const lock = lockHandlers(kv, headerAt);
    const election = electionHandlers(kv, headerAt);
    await expect(unaryCall(lock.Lock, { name: Buffer.alloc(0), lease: 1 }).result).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'etcdserver: key is not provided',
    });
    await expect(unaryCall(lock.Unlock, { key: Buffer.alloc(0) }).result).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(unaryCall(election.Campaign, { name: Buffer.alloc(0) }).result).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(unaryCall(election.Leader, { name: b('none') }).result).rejects.toMatchObject({
      code: grpc.status.UNKNOWN,
      details: 'election: no leader',
    });
    await expect(unaryCall(election.Resign, { leader: null }).result).rejects.toMatchObject({
      code: grpc.status.UNKNOWN,
      details: '"leader" field must be provided',
    });
    await expect(
      unaryCall(election.Proclaim, {
        leader: { name: b('e'), key: b('e/1'), rev: 99, lease: 1 },
        value: b('v'),
      }).result,
    ).rejects.toMatchObject({ code: grpc.status.UNKNOWN, details: 'election: not leader' });
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('Lock answers the key and the header at the revision it was granted; cancelling a waiting Lock cleans up', async () => {
    const kv = new InProcessKv();
    const lock = lockHandlers(kv, headerAt);
    const held = await unaryCall(lock.Lock, { name: b('l'), lease: 0x2a }).result;
    expect(str(held.key)).toBe('l/2a');
    expect(held.header).toEqual(headerAt(kv.store.range({ key: b('l/2a') }).kvs[0]!.createRevision));

    const waiting = unaryCall(lock.Lock, { name: b('l'), lease: 0x2b });
    await settle();
    expect(kv.feed.watcherCount).toBeGreaterThan(0);
    waiting.cancel();
    await expect(waiting.result).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    expect(kv.feed.watcherCount).toBe(0);
    expect(kv.store.range({ key: b('l/2b') }).kvs).toHaveLength(0);
    await unaryCall(lock.Unlock, { key: held.key }).result;
    expect(kv.store.range({ key: b('l/2a') }).kvs).toHaveLength(0);
  });

  test('cancelling a waiting Campaign cleans up; Observe streams values and stops on cancel', async () => {
    const kv = new InProcessKv();
    const election = electionHandlers(kv, headerAt);
    const observe = streamCall(election.Observe, { name: b('e') });
    const won = await unaryCall(election.Campaign, { name: b('e'), lease: 1, value: b('v1') }).result;
    expect(won.leader).toMatchObject({ key: b('e/1'), lease: 1 });
    const waiting = unaryCall(election.Campaign, { name: b('e'), lease: 2, value: b('w') });
    await settle();
    waiting.cancel();
    await expect(waiting.result).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    expect(kv.store.range({ key: b('e/2') }).kvs).toHaveLength(0);

    await unaryCall(election.Proclaim, { leader: won.leader, value: b('v2') }).result;
    await settle();
    expect(observe.written.map((r) => str(r.kv.value))).toEqual(['v1', 'v2']);
    expect(observe.written[1].header.member_id).toBe(2);
    observe.cancel();
    await settle();
    expect(kv.feed.watcherCount).toBe(0);
    expect(observe.state.error).toBeUndefined();
  });
});
