/**
 * Proves what coalescing a Ready's messages folds and what it leaves alone: contiguous appends
 * to one follower become one (entries in order, the later commit), successful acknowledgements
 * to one leader become the highest one, forwarded proposals become one; a gap, another term, a
 * rejection, the size limit or an unrelated message in between stops a fold, and recipients
 * never mix. Then, on a real cluster, a leader that takes several proposals in one Ready sends
 * each follower one append, and every member still applies every entry in order.
 */
import { describe, expect, test } from 'vitest';
import { coalesceMessages } from '../../src/raft/coalesce.js';
import { type Entry, EntryType, type Message, MessageType, message, Role } from '../../src/raft/index.js';
import { data, TestCluster } from './harness.js';

function entry(index: number, term: number, bytes = 10): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(bytes) };
}

function app(to: number, index: number, logTerm: number, ents: Entry[], commit: number, term = 2): Message {
  return message(MessageType.App, { to, from: 1, term, index, logTerm, entries: ents, commit });
}

function ack(to: number, index: number, term = 2, reject = false): Message {
  return message(MessageType.AppResp, { to, from: 2, term, index, reject, rejectHint: reject ? index : 0 });
}

const LIMIT = 1024 * 1024;

describe('coalesceMessages', () => {
  test('contiguous appends to one follower become one, with every entry in order and the later commit', () => {
    const msgs = [
      app(2, 10, 2, [entry(11, 2)], 9),
      app(3, 10, 2, [entry(11, 2)], 9),
      app(2, 11, 2, [entry(12, 2)], 10),
      app(3, 11, 2, [entry(12, 2)], 10),
      app(2, 12, 2, [entry(13, 2), entry(14, 2)], 11),
    ];
    const before = JSON.stringify(msgs);
    const out = coalesceMessages(msgs, LIMIT);
    expect(out).toHaveLength(2);
    expect(out.map((m) => m.to)).toEqual([2, 3]);
    expect(out[0]!.index).toBe(10);
    expect(out[0]!.logTerm).toBe(2);
    expect(out[0]!.entries.map((e) => e.index)).toEqual([11, 12, 13, 14]);
    expect(out[0]!.commit).toBe(11);
    expect(out[1]!.entries.map((e) => e.index)).toEqual([11, 12]);
    expect(out[1]!.commit).toBe(10);
    expect(JSON.stringify(msgs)).toBe(before);
  });

  test('an empty append (a commit update) that continues the run folds in; one that does not stays apart', () => {
    const out = coalesceMessages([app(2, 10, 2, [entry(11, 2)], 9), app(2, 11, 2, [], 11)], LIMIT);
    expect(out).toHaveLength(1);
    expect(out[0]!.commit).toBe(11);
    const gap = coalesceMessages([app(2, 10, 2, [entry(11, 2)], 9), app(2, 12, 2, [], 11)], LIMIT);
    expect(gap).toHaveLength(2);
  });

  test('a gap, a different previous term, another term or the size limit stops a fold', () => {
    expect(
      coalesceMessages([app(2, 10, 2, [entry(11, 2)], 9), app(2, 12, 2, [entry(13, 2)], 9)], LIMIT),
    ).toHaveLength(2);
    expect(
      coalesceMessages([app(2, 10, 2, [entry(11, 2)], 9), app(2, 11, 1, [entry(12, 2)], 9)], LIMIT),
    ).toHaveLength(2);
    expect(
      coalesceMessages([app(2, 10, 2, [entry(11, 2)], 9, 2), app(2, 11, 2, [entry(12, 3)], 9, 3)], LIMIT),
    ).toHaveLength(2);
    // A probe back to an earlier index after a rejection is a new message, not a fold.
    expect(
      coalesceMessages([app(2, 10, 2, [entry(11, 2)], 9), app(2, 7, 2, [entry(8, 2)], 9)], LIMIT),
    ).toHaveLength(2);
    const big = [app(2, 10, 2, [entry(11, 2, 600)], 9), app(2, 11, 2, [entry(12, 2, 600)], 9)];
    expect(coalesceMessages(big, 1000)).toHaveLength(2);
    expect(coalesceMessages(big, 2000)).toHaveLength(1);
  });

  test('a heartbeat between two appends does not stop the fold; a snapshot or a transfer does', () => {
    const hb = message(MessageType.Heartbeat, { to: 2, from: 1, term: 2, commit: 9 });
    const viaHeartbeat = coalesceMessages(
      [app(2, 10, 2, [entry(11, 2)], 9), hb, app(2, 11, 2, [entry(12, 2)], 9)],
      LIMIT,
    );
    expect(viaHeartbeat.map((m) => m.type)).toEqual([MessageType.App, MessageType.Heartbeat]);
    expect(viaHeartbeat[0]!.entries).toHaveLength(2);
    const timeout = message(MessageType.TimeoutNow, { to: 2, from: 1, term: 2 });
    const viaTransfer = coalesceMessages(
      [app(2, 10, 2, [entry(11, 2)], 9), timeout, app(2, 11, 2, [entry(12, 2)], 9)],
      LIMIT,
    );
    expect(viaTransfer.map((m) => m.type)).toEqual([
      MessageType.App,
      MessageType.TimeoutNow,
      MessageType.App,
    ]);
  });

  test('successful acknowledgements fold into the highest; a rejection is kept and ends the run', () => {
    const folded = coalesceMessages([ack(1, 11), ack(1, 13), ack(1, 12)], LIMIT);
    expect(folded).toHaveLength(1);
    expect(folded[0]!.index).toBe(13);
    const withReject = coalesceMessages([ack(1, 11), ack(1, 9, 2, true), ack(1, 12)], LIMIT);
    expect(withReject.map((m) => [m.index, m.reject])).toEqual([
      [11, false],
      [9, true],
      [12, false],
    ]);
    expect(coalesceMessages([ack(1, 11, 2), ack(1, 12, 3)], LIMIT)).toHaveLength(2);
  });

  test('forwarded proposals to the leader become one proposal with every entry in order', () => {
    const prop = (n: number) =>
      message(MessageType.Prop, { to: 1, from: 2, entries: [{ ...entry(0, 0), data: data(`p${n}`) }] });
    const out = coalesceMessages([prop(1), prop(2), prop(3)], LIMIT);
    expect(out).toHaveLength(1);
    expect(out[0]!.entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['p1', 'p2', 'p3']);
  });
});

describe('on a cluster', () => {
  test('a leader that takes several proposals in one Ready sends each follower one append, and all apply them in order', () => {
    const c = new TestCluster([1, 2, 3]);
    expect(c.elect(1)).toBe(Role.Leader);
    c.stabilize();
    const sentBefore = c.sentOf(MessageType.App).length;
    const leader = c.get(1).node;
    for (let i = 0; i < 5; i++) leader.propose(data(`v${i}`));
    c.processReady();
    const apps = c.sentOf(MessageType.App).slice(sentBefore);
    expect(apps.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const m of apps)
      expect(m.entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    c.stabilize();
    for (const id of [1, 2, 3]) expect(c.appliedData(id).slice(-5)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });
});
