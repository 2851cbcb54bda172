/**
 * Proves the in-memory twin keeps the Transport contract the node relies on: delivery never
 * happens inside send() and keeps per-link order; a cut link, a partition, a down member, a
 * drop filter, an unknown or removed peer each drop messages and report the peer unreachable;
 * a Snap reports its status; heal() restores delivery; stop() silences a member; and the
 * node tests' transportFor() wiring delivers to registered endpoints without addPeer.
 */
import { describe, expect, test } from 'vitest';
import { type Message, MessageType, type NodeId } from '../../src/raft/types.js';
import { MemoryTransportHub } from '../../src/transport/memory-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { msg, snapshotOf, until } from './support.js';

interface Twin {
  readonly transport: Transport;
  readonly received: Message[];
  readonly unreachable: NodeId[];
  readonly snapshotStatus: Array<[NodeId, boolean]>;
}

async function cluster(hub: MemoryTransportHub, ids: readonly NodeId[]): Promise<Twin[]> {
  const twins = ids.map((id) => {
    const t: Omit<Twin, 'transport'> = { received: [], unreachable: [], snapshotStatus: [] };
    const transport = hub.join(id, {
      onMessage: (m) => t.received.push(m),
      onUnreachable: (peer) => t.unreachable.push(peer),
      onSnapshotStatus: (peer, ok) => t.snapshotStatus.push([peer, ok]),
    });
    return { ...t, transport };
  });
  for (const [i, t] of twins.entries()) {
    await t.transport.start();
    for (const id of ids) if (id !== ids[i]) t.transport.addPeer(id, `mem://${id}`);
  }
  return twins;
}

const beat = (from: NodeId, to: NodeId, commit = 0) => msg(MessageType.Heartbeat, from, to, { commit });

describe('MemoryTransport', () => {
  test('delivers after send() returns, in order per link, and reports Snap status', async () => {
    const hub = new MemoryTransportHub();
    const [a, b] = await cluster(hub, [1, 2]);
    const batch = [
      beat(1, 2, 1),
      beat(1, 2, 2),
      msg(MessageType.Snap, 1, 2, { snapshot: snapshotOf(10) }),
      beat(1, 2, 3),
    ];
    a!.transport.send(batch);
    expect(b!.received).toEqual([]);
    await until('delivery', () => b!.received.length === 4);
    expect(b!.received).toEqual(batch);
    await until('status', () => a!.snapshotStatus.length === 1);
    expect(a!.snapshotStatus).toEqual([[2, true]]);
    expect(a!.unreachable).toEqual([]);
  });

  test('cuts, partitions, down members and drop filters drop and report; heal restores', async () => {
    const hub = new MemoryTransportHub();
    const [a, b, c] = await cluster(hub, [1, 2, 3]);
    hub.partition([1], [2, 3]);
    a!.transport.send([beat(1, 2), msg(MessageType.Snap, 1, 3, { snapshot: snapshotOf(10) })]);
    b!.transport.send([beat(2, 3, 7), beat(2, 1)]);
    await until('reports', () => a!.unreachable.length === 2 && b!.unreachable.length === 1);
    expect(a!.unreachable.sort()).toEqual([2, 3]);
    expect(a!.snapshotStatus).toEqual([[3, false]]);
    expect(b!.unreachable).toEqual([1]);
    expect(c!.received).toEqual([beat(2, 3, 7)]);
    expect(a!.received).toEqual([]);

    hub.heal();
    hub.down.add(3);
    hub.setDropFilter((m) => m.type === MessageType.App);
    a!.transport.send([beat(1, 3), msg(MessageType.App, 1, 2), beat(1, 2, 5)]);
    await until('delivery and reports', () => b!.received.length === 1 && a!.unreachable.length === 4);
    expect(b!.received).toEqual([beat(1, 2, 5)]);
    expect(a!.unreachable.slice(2).sort()).toEqual([2, 3]);

    hub.heal();
    a!.transport.send([beat(1, 3, 9)]);
    await until('healed', () => c!.received.length === 2);
  });

  test('unknown and removed peers are unreachable; a stopped member neither sends nor receives', async () => {
    const hub = new MemoryTransportHub();
    const [a, b] = await cluster(hub, [1, 2]);
    a!.transport.send([beat(1, 9)]);
    a!.transport.removePeer(2);
    a!.transport.send([beat(1, 2)]);
    await until('reports', () => a!.unreachable.length === 2);
    expect(a!.unreachable).toEqual([9, 2]);
    a!.transport.updatePeer(2, 'mem://2-again');
    await b!.transport.stop();
    a!.transport.send([beat(1, 2)]);
    b!.transport.send([beat(2, 1)]);
    await until('report', () => a!.unreachable.length === 3);
    expect(b!.received).toEqual([]);
    expect(a!.received).toEqual([]);
    expect(b!.unreachable).toEqual([]);
  });

  test('transportFor() delivers to registered endpoints without addPeer, as the node tests wire it', async () => {
    const hub = new MemoryTransportHub();
    const got: Message[] = [];
    hub.register(2, { onMessage: (m) => got.push(m) });
    const t = hub.transportFor(1);
    t.send([beat(1, 2), beat(1, 3)]);
    await until('delivery', () => got.length === 1);
    hub.cut.add('1>2');
    t.send([beat(1, 2, 4)]);
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(1);
  });
});
