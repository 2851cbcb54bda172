/**
 * Proves the transport's part in removing a member, on real loopback servers: a member
 * refuses every message from a sender its registry says was removed (nothing reaches raft),
 * the refused sender is told it was removed (the server stops it), and messages from members
 * still in the cluster keep arriving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType } from '../../src/raft/types.js';
import { Members, msg, until } from './support.js';

const members = new Members();
afterEach(() => members.close());

describe('GrpcTransport and removed members', () => {
  it('refuses a removed sender, tells it so, and keeps serving the others', async () => {
    const removed = new Set<number>([2]);
    let told = 0;
    const a = members.create(1, { isRemovedMember: (id) => removed.has(id) });
    const b = members.create(2, { onRemovedFromCluster: () => told++ });
    const c = members.create(3);
    for (const m of [a, b, c]) await m.transport.start();
    b.transport.addPeer(1, `http://127.0.0.1:${a.transport.port}`);
    c.transport.addPeer(1, `http://127.0.0.1:${a.transport.port}`);

    b.transport.send([msg(MessageType.PreVote, 2, 1, { term: 5 })]);
    await until('the removed member told', () => told > 0);
    c.transport.send([msg(MessageType.Heartbeat, 3, 1, { term: 5 })]);
    await until('the member still in the cluster heard', () => a.received.length === 1);
    expect(a.received.map((m) => m.from)).toEqual([3]);
    expect(a.transport.incomingStats().refusals).toBeGreaterThan(0);
  });
});
