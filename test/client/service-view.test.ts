/**
 * Proves that a ServiceView applies a Subscribe stream as the protocol says, against a fake
 * stream source that records every Subscribe request: a snapshot in chunks becomes visible
 * only when complete, changes apply in revision order (a replayed one is ignored), a broken
 * stream resumes on the next endpoint with from_revision = last + 1, SUBSCRIPTION_COMPACTED
 * re-snapshots from 0 and the new snapshot replaces the view (removed instances do not
 * linger), an invalid subscription fails ready(), and the iterator yields the newest list.
 */
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ServiceName } from '../../src/client/connection.js';
import type { ServiceInstance } from '../../src/client/registry-types.js';
import { ServiceView, type StreamSource } from '../../src/client/service-view.js';
import { ErrorCode } from '../../src/common/errors.js';
import { WIRE_ERRORS } from '../../src/common/wire-errors.js';

class FakeStream extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
  }
}

interface Opened {
  address: string;
  request: { service: string; prefix: boolean; from_revision: number };
  stream: FakeStream;
}

class FakeSource implements StreamSource {
  readonly opened: Opened[] = [];
  readonly failedOver: string[] = [];
  isClosed = false;
  private preferred = 0;
  constructor(private readonly addresses: string[] = ['m1:1', 'm2:2', 'm3:3']) {}
  get currentAddress(): string {
    return this.addresses[this.preferred] as string;
  }
  // biome-ignore lint/suspicious/noExplicitAny: a fake stub
  stub(_service: ServiceName, address = this.currentAddress): any {
    return {
      Subscribe: (request: Opened['request']) => {
        const stream = new FakeStream();
        this.opened.push({ address, request, stream });
        return stream;
      },
    };
  }
  failover(address: string): void {
    this.failedOver.push(address);
    if (address === this.currentAddress) this.preferred = (this.preferred + 1) % this.addresses.length;
  }
  backoffMs(): number {
    return 0;
  }
  get last(): Opened {
    return this.opened[this.opened.length - 1] as Opened;
  }
  async waitOpened(n: number): Promise<Opened> {
    for (let i = 0; i < 100 && this.opened.length < n; i++) await new Promise((r) => setTimeout(r, 1));
    expect(this.opened.length).toBe(n);
    return this.last;
  }
}

function wireInstance(id: string, rev: number, state = 1, service = 'svc'): object {
  return {
    service,
    instance_id: id,
    address: `${id}.local:50051`,
    weight: 1,
    zone: 'z1',
    metadata: {},
    state,
    load: null,
    lease: 7,
    registered_at_revision: rev,
    updated_at_revision: rev,
    registered_at_unix_ms: 0,
  };
}

function snapshot(revision: number, ids: string[], done = true): object {
  return {
    revision,
    snapshot: ids.map((id) => wireInstance(id, revision)),
    snapshot_done: done,
    changes: [],
  };
}

function changes(revision: number, ...cs: [type: 'upsert' | 'delete', id: string, state?: number][]): object {
  return {
    revision,
    snapshot: [],
    snapshot_done: false,
    changes: cs.map(([type, id, state]) => ({
      type: type === 'upsert' ? 1 : 2,
      instance: wireInstance(id, revision, state ?? 1),
    })),
  };
}

function ids(list: readonly ServiceInstance[]): string[] {
  return list.map((i) => i.id);
}

function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(details), { code, details });
}

describe('ServiceView', () => {
  it('shows a chunked snapshot only when complete, then applies changes in order', async () => {
    const source = new FakeSource();
    const view = new ServiceView(source, 'svc');
    const seen: string[][] = [];
    view.on('change', (list) => seen.push(ids(list)));
    const { stream, request } = source.last;
    expect(request).toEqual({ service: 'svc', prefix: false, from_revision: 0 });
    stream.emit('data', snapshot(10, ['c', 'a'], false));
    expect(view.instances()).toEqual([]);
    expect(view.revision).toBe(0);
    stream.emit('data', snapshot(10, ['b'], true));
    await view.ready();
    expect(ids(view.instances())).toEqual(['a', 'b', 'c']);
    expect(view.revision).toBe(10);
    const a = view.instances()[0] as ServiceInstance;
    expect(a).toMatchObject({
      service: 'svc',
      id: 'a',
      address: 'a.local:50051',
      state: 'SERVING',
      zone: 'z1',
    });
    stream.emit('data', changes(11, ['delete', 'b'], ['upsert', 'd']));
    stream.emit('data', changes(12, ['upsert', 'a', 2]));
    // Replayed (already applied) revision: ignored.
    stream.emit('data', changes(11, ['upsert', 'b']));
    expect(ids(view.instances())).toEqual(['a', 'c', 'd']);
    expect(view.instances()[0]?.state).toBe('DRAINING');
    expect(ids(view.serving())).toEqual(['c', 'd']);
    expect(seen).toEqual([
      ['a', 'b', 'c'],
      ['a', 'c', 'd'],
      ['a', 'c', 'd'],
    ]);
    view.close();
    expect(stream.cancelled).toBe(true);
  });

  it('resumes from the last revision + 1 on the next endpoint after the stream breaks', async () => {
    const source = new FakeSource();
    const view = new ServiceView(source, 'svc');
    source.last.stream.emit('data', snapshot(5, ['a']));
    source.last.stream.emit('data', changes(7, ['upsert', 'b']));
    source.last.stream.emit('error', grpcError(status.UNAVAILABLE, 'Connection dropped'));
    const second = await source.waitOpened(2);
    expect(source.failedOver).toEqual(['m1:1']);
    expect(second.address).toBe('m2:2');
    expect(second.request.from_revision).toBe(8);
    second.stream.emit('data', changes(8, ['upsert', 'c']));
    expect(ids(view.instances())).toEqual(['a', 'b', 'c']);
    // A stream the server ends is resumed too.
    second.stream.emit('end');
    const third = await source.waitOpened(3);
    expect(third.request.from_revision).toBe(9);
    view.close();
  });

  it('re-snapshots from revision 0 after SUBSCRIPTION_COMPACTED, replacing the view', async () => {
    const source = new FakeSource();
    const view = new ServiceView(source, 'svc');
    source.last.stream.emit('data', snapshot(5, ['a', 'b', 'c']));
    await view.ready();
    source.last.stream.emit('error', grpcError(status.UNAVAILABLE, 'Connection dropped'));
    const resumed = await source.waitOpened(2);
    expect(resumed.request.from_revision).toBe(6);
    const compacted = WIRE_ERRORS[ErrorCode.SUBSCRIPTION_COMPACTED]!;
    resumed.stream.emit('error', grpcError(compacted.status, compacted.message));
    const fresh = await source.waitOpened(3);
    expect(fresh.request.from_revision).toBe(0);
    expect(fresh.address).toBe(resumed.address);
    // Until the new snapshot completes the old view stays.
    fresh.stream.emit('data', snapshot(40, ['a'], false));
    expect(ids(view.instances())).toEqual(['a', 'b', 'c']);
    fresh.stream.emit('data', snapshot(40, ['d'], true));
    expect(ids(view.instances())).toEqual(['a', 'd']);
    expect(view.revision).toBe(40);
    fresh.stream.emit('data', changes(41, ['delete', 'a']));
    expect(ids(view.instances())).toEqual(['d']);
    // A later break resumes from the new snapshot's revision.
    fresh.stream.emit('error', grpcError(status.UNAVAILABLE, 'Connection dropped'));
    expect((await source.waitOpened(4)).request.from_revision).toBe(42);
    view.close();
  });

  it('starts the snapshot over when the stream breaks in the middle of it', async () => {
    const source = new FakeSource();
    const view = new ServiceView(source, 'svc');
    source.last.stream.emit('data', snapshot(5, ['stale'], false));
    source.last.stream.emit('error', grpcError(status.UNAVAILABLE, 'Connection dropped'));
    const again = await source.waitOpened(2);
    expect(again.request.from_revision).toBe(0);
    again.stream.emit('data', snapshot(6, ['a']));
    expect(ids(view.instances())).toEqual(['a']);
    view.close();
  });

  it('fails ready() and the iterator on an invalid subscription', async () => {
    const source = new FakeSource();
    const view = new ServiceView(source, '/bad');
    const errors: unknown[] = [];
    view.on('error', (e) => errors.push(e));
    source.last.stream.emit('error', grpcError(status.INVALID_ARGUMENT, 'service must not start with "/"'));
    await expect(view.ready()).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(view[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    expect(errors).toHaveLength(1);
    expect(source.opened).toHaveLength(1);
  });

  it('yields the first snapshot even when the service has no instance yet', async () => {
    const source = new FakeSource();
    const view = new ServiceView(source, 'svc');
    const it = view[Symbol.asyncIterator]();
    const first = it.next();
    source.last.stream.emit('data', snapshot(3, []));
    expect(ids((await first).value)).toEqual([]);
    source.last.stream.emit('data', changes(4, ['upsert', 'a']));
    expect(ids((await it.next()).value)).toEqual(['a']);
    view.close();
  });

  it('iterates the current list, then the newest one (skipping those a slow reader missed)', async () => {
    const source = new FakeSource();
    const view = new ServiceView(source, 'svc');
    const it = view[Symbol.asyncIterator]();
    const first = it.next();
    source.last.stream.emit('data', snapshot(3, ['a']));
    expect(ids((await first).value)).toEqual(['a']);
    source.last.stream.emit('data', changes(4, ['upsert', 'b']));
    source.last.stream.emit('data', changes(5, ['upsert', 'c']));
    expect(ids((await it.next()).value)).toEqual(['a', 'b', 'c']);
    const pending = it.next();
    view.close();
    expect((await pending).done).toBe(true);
    await expect(view.ready()).resolves.toBeUndefined();
  });
});
