/**
 * Proves the mvcc store runs as the replicated state machine: puts and a compare-and-swap
 * Txn proposed on any member resolve with the store's response, every member serves the
 * same data after a linearizable barrier, a refused command (compaction of a future
 * revision) is refused identically everywhere without changing the store, the
 * persistence records of each apply reach storage (with the next write, after a moment
 * when none comes, and at stop, never ahead of the commit index on disk), an idle member
 * converts an older folder's records a chunk per flush to the end, and a member that needs a snapshot
 * receives the mvcc snapshot and ends with the same hashKV.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import {
  type Command,
  CompareResult,
  CompareTarget,
  encodeCommand,
  MvccStore,
} from '../../src/mvcc/index.js';
import { EntryKind } from '../../src/node/envelope.js';
import { type KvResult, KvStateMachine, type KvWrites } from '../../src/node/kv-state-machine.js';
import { LEGACY_RECORDS_PER_WRITE } from '../../src/node/legacy-records.js';
import { eventually, Hub, type MemMember, retryRetriable, startClusterWith } from './support.js';

type KvMember = MemMember<KvResult, KvStateMachine>;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
let running: KvMember[] = [];

afterEach(async () => {
  await Promise.all(running.map((m) => m.node.stop()));
  running = [];
});

function start(ids: number[], hub = new Hub(), snapshotCount = 1_000_000): KvMember[] {
  running = startClusterWith<KvResult, KvStateMachine>(
    ids,
    () => new KvStateMachine(new MvccStore(), 0),
    hub,
    snapshotCount,
  );
  return running;
}

async function propose(m: KvMember, c: Command): Promise<KvResult> {
  // NO_LEADER right after an election means the write certainly did not happen: retry it.
  return retryRetriable(() => m.node.propose(EntryKind.Mvcc, encodeCommand(c)));
}

async function read(m: KvMember, key: string): Promise<string | undefined> {
  await retryRetriable(() => m.node.linearizableBarrier());
  return dec(m.sm.store.range({ key: enc(key) }).kvs[0]?.value);
}

describe('KvStateMachine over raft', () => {
  test('puts and a compare-and-swap through any member are seen by every member', async () => {
    const ms = start([1, 2, 3]);
    await eventually(() => ms.find((m) => m.node.status().role === 'leader'), 'a leader');
    const put = await propose(ms[1]!, { type: 'put', request: { key: enc('balance'), value: enc('100') } });
    expect(put.ok).toBe(true);
    expect(put.ok && put.response.header.revision).toBe(2);
    for (const m of ms) expect(await read(m, 'balance')).toBe('100');

    const cas = (expected: string, next: string): Command => ({
      type: 'txn',
      request: {
        compare: [
          {
            result: CompareResult.Equal,
            target: CompareTarget.Value,
            key: enc('balance'),
            value: enc(expected),
          },
        ],
        success: [{ requestPut: { key: enc('balance'), value: enc(next) } }],
        failure: [{ requestRange: { key: enc('balance') } }],
      },
    });
    const won = await propose(ms[2]!, cas('100', '70'));
    const lost = await propose(ms[0]!, cas('100', '40'));
    expect(won.ok && 'succeeded' in won.response && won.response.succeeded).toBe(true);
    expect(lost.ok && 'succeeded' in lost.response && lost.response.succeeded).toBe(false);
    for (const m of ms) expect(await read(m, 'balance')).toBe('70');
  });

  test('a refused command is refused the same way everywhere and changes nothing', async () => {
    const ms = start([1, 2, 3]);
    await eventually(() => ms.find((m) => m.node.status().role === 'leader'), 'a leader');
    await propose(ms[0]!, { type: 'put', request: { key: enc('a'), value: enc('1') } });
    const r = await propose(ms[0]!, { type: 'compact', request: { revision: 1000 } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe(ErrorCode.FUTURE_REVISION);
    for (const m of ms) {
      await retryRetriable(() => m.node.linearizableBarrier());
      expect(m.sm.store.currentRevision).toBe(2);
      expect(m.sm.store.compactedRevision).toBe(0);
    }
  });

  test('every apply hands its records to storage', async () => {
    const ms = start([1]);
    await eventually(() => ms.find((m) => m.node.status().role === 'leader'), 'a leader');
    await propose(ms[0]!, { type: 'put', request: { key: enc('k'), value: enc('v') } });
    // A single member applies after its own write, so the records follow in the next (idle) flush.
    const writtenKeys = () =>
      (ms[0]!.storage.smWrites as KvWrites[]).flatMap((w) =>
        (w.changes?.revisions ?? []).flatMap((rw) => rw.records.map((r) => r.key)),
      );
    await eventually(
      () => (writtenKeys().includes('k') ? true : undefined),
      'the records of the put in storage',
    );
    expect(ms[0]!.storage.smApplied).toBe(ms[0]!.sm.appliedIndex);
  });

  test('what a member applied reaches its storage with the next write, within a moment when none comes, and at stop, never ahead of the commit index on disk', async () => {
    const ms = start([1, 2, 3]);
    const lead = await eventually(() => ms.find((m) => m.node.status().role === 'leader'), 'a leader');
    const diskCommit = (m: KvMember) => m.storage.raftStorage.initialState().hardState.commit;
    const first = await propose(lead, { type: 'put', request: { key: enc('k1'), value: enc('1') } });
    // Nothing else is written afterwards: the flush takes what each member applied.
    for (const m of ms)
      await eventually(
        () => (m.storage.smApplied >= first.index ? true : undefined),
        `member ${m.id} writes what it applied`,
      );
    for (const m of ms) expect(diskCommit(m)).toBeGreaterThanOrEqual(m.storage.smApplied);
    const second = await propose(lead, { type: 'put', request: { key: enc('k2'), value: enc('2') } });
    for (const m of ms)
      await eventually(
        () => (m.sm.appliedIndex >= second.index ? true : undefined),
        `member ${m.id} applies`,
      );
    await Promise.all(ms.map((m) => m.node.stop()));
    for (const m of ms) {
      expect(m.storage.smApplied).toBe(m.sm.appliedIndex);
      expect(diskCommit(m)).toBeGreaterThanOrEqual(m.storage.smApplied);
    }
  });

  test('an idle member converts old-style records a chunk per flush until none is left', async () => {
    // A store as a data-format-2 folder would load it: every record still under its old key.
    const store = new MvccStore();
    for (let t = 0; t < 10 * (LEGACY_RECORDS_PER_WRITE / 100) + 5; t++)
      store.apply({
        type: 'txn',
        request: {
          success: Array.from({ length: 100 }, (_, i) => ({
            requestPut: { key: enc(`bulk/${t}/${i}`), value: enc('v') },
          })),
        },
      });
    const positions = [...store.records()].map((r) => ({ main: r.main, sub: r.sub }));
    expect(positions.length).toBeGreaterThan(10 * LEGACY_RECORDS_PER_WRITE);
    running = startClusterWith<KvResult, KvStateMachine>(
      [1],
      () => {
        const sm = new KvStateMachine(store, 0);
        sm.convertLegacyRecords(positions);
        return sm;
      },
      new Hub(),
    );
    const [m] = running;
    // Nothing is proposed: every tick runs the Ready loop, which arms the flush that takes the next chunk.
    const written = () => (m!.storage.smWrites as KvWrites[]).flatMap((w) => w.legacyKeys ?? []);
    await eventually(
      () => (written().length === positions.length ? true : undefined),
      'every record converted and written',
    );
    expect(written()).toEqual(positions);
    expect(m!.sm.legacyRecordsLeft).toBe(0);
  });

  test('a member that missed compacted entries gets the mvcc snapshot and the same data', async () => {
    const hub = new Hub();
    const ms = start([1, 2, 3], hub, 10);
    const lead = await eventually(() => ms.find((m) => m.node.status().role === 'leader'), 'a leader');
    const lagging = ms.find((m) => m !== lead)!;
    hub.down.add(lagging.id);
    for (let i = 0; i < 30; i++)
      await propose(lead, { type: 'put', request: { key: enc(`k${i}`), value: enc(`v${i}`) } });
    // Whichever member leads when the lagging one returns (leadership may move in a loaded run)
    // must have compacted past the lagging member's log, so only a snapshot can catch it up.
    const laggingLast = lagging.storage.raftStorage.lastIndex();
    await eventually(
      () =>
        ms.filter((m) => m !== lagging).every((m) => m.storage.raftStorage.firstIndex() > laggingLast + 1)
          ? true
          : undefined,
      'log compaction on both others',
    );
    hub.down.delete(lagging.id);
    // The store is restored in memory before its write reaches storage: wait for both.
    const installed = () => (lagging.storage.smWrites as KvWrites[]).some((w) => w.replaceWith !== undefined);
    await eventually(
      () =>
        lagging.sm.store.currentRevision === lead.sm.store.currentRevision && installed() ? true : undefined,
      'catch-up by an installed snapshot',
    );
    expect(lagging.sm.store.hashKV().hash).toBe(lead.sm.store.hashKV().hash);
  });
});
