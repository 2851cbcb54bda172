/**
 * Proves the replicated alarm state: the AlarmSet applies GET/ACTIVATE/DEACTIVATE as etcd's
 * alarm store does and reports net changes; the state machine applies EntryKind.Alarm
 * entries and, while NOSPACE is active, refuses puts and Txns with puts (not deletes, reads
 * in Txns or compaction) with etcd's error; alarms survive persist + recover through the
 * storage ops and travel in snapshots (older snapshots without alarms still restore); and the
 * Maintenance Hash is equal for equal contents. Everything runs on the state machine directly.
 */
import { describe, expect, test } from 'vitest';
import { type CairnError, ErrorCode } from '../../src/common/errors.js';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { type Command, encodeCommand, MvccStore } from '../../src/mvcc/index.js';
import {
  AlarmAction,
  AlarmSet,
  AlarmType,
  alarmKey,
  alarmOfKey,
  alarmTrailer,
  decodeAlarmRequest,
  encodeAlarmRequest,
  splitAlarmTrailer,
} from '../../src/node/alarms.js';
import { EntryKind } from '../../src/node/envelope.js';
import {
  type KvResult,
  KvStateMachine,
  type KvWrites,
  kvWritesToOps,
  recoverKvStateMachine,
} from '../../src/node/kv-state-machine.js';
import { hashStateMachine } from '../../src/node/state-hash.js';

const enc = (s: string) => new TextEncoder().encode(s);
const NOSPACE_1 = { memberId: 1, alarm: AlarmType.NOSPACE };

class Applier {
  index = 0;
  constructor(readonly sm = new KvStateMachine(new MvccStore(), 0)) {}

  alarm(action: AlarmAction, memberId: number, alarm: AlarmType): KvResult {
    const payload = encodeAlarmRequest({ action, memberId, alarm });
    return this.sm.apply(
      { index: ++this.index, term: 1 },
      { kind: EntryKind.Alarm, proposer: 0, seq: 0, payload },
    );
  }

  command(c: Command): KvResult {
    const payload = encodeCommand(c);
    return this.sm.apply(
      { index: ++this.index, term: 1 },
      { kind: EntryKind.Mvcc, proposer: 0, seq: 0, payload },
    );
  }
}

function errorCode(r: KvResult): string | undefined {
  return r.ok ? undefined : (r.error as CairnError).code;
}

/** A stand-in for LevelDB's state-machine keys: applies ops as storage does (clear, dels, puts). */
class FakeKeys {
  readonly map = new Map<string, [Uint8Array, Uint8Array]>();
  write(w: KvWrites | undefined): void {
    if (!w) return;
    const ops = kvWritesToOps(w);
    if (ops.clearFirst) this.map.clear();
    for (const k of ops.dels) this.map.delete(Buffer.from(k).toString('hex'));
    for (const [k, v] of ops.puts) this.map.set(Buffer.from(k).toString('hex'), [k, v]);
  }
  recovered(appliedIndex: number) {
    const stateMachine = [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, kv]) => kv);
    return { appliedIndex, stateMachine: [stateMachine] };
  }
}

describe('AlarmSet', () => {
  test('activates once, lists by type, deactivates, and ignores NONE', () => {
    const set = new AlarmSet();
    expect(set.apply({ action: AlarmAction.ACTIVATE, ...NOSPACE_1 })).toEqual([NOSPACE_1]);
    expect(set.apply({ action: AlarmAction.ACTIVATE, ...NOSPACE_1 })).toEqual([NOSPACE_1]);
    set.apply({ action: AlarmAction.ACTIVATE, memberId: 2, alarm: AlarmType.CORRUPT });
    expect(set.apply({ action: AlarmAction.ACTIVATE, memberId: 3, alarm: AlarmType.NONE })).toEqual([]);
    expect(set.list()).toHaveLength(2);
    expect(set.apply({ action: AlarmAction.GET, memberId: 0, alarm: AlarmType.NOSPACE })).toEqual([
      NOSPACE_1,
    ]);
    expect(set.has(AlarmType.NOSPACE)).toBe(true);
    expect(set.apply({ action: AlarmAction.DEACTIVATE, ...NOSPACE_1 })).toEqual([NOSPACE_1]);
    expect(set.apply({ action: AlarmAction.DEACTIVATE, ...NOSPACE_1 })).toEqual([]);
    expect(set.has(AlarmType.NOSPACE)).toBe(false);
  });

  test('reports net changes: raised then cleared in one batch is a deletion', () => {
    const set = new AlarmSet();
    set.apply({ action: AlarmAction.ACTIVATE, ...NOSPACE_1 });
    set.apply({ action: AlarmAction.DEACTIVATE, ...NOSPACE_1 });
    set.apply({ action: AlarmAction.ACTIVATE, memberId: 2, alarm: AlarmType.NOSPACE });
    expect(set.takeChanges()).toEqual({
      activated: [{ memberId: 2, alarm: AlarmType.NOSPACE }],
      deactivated: [NOSPACE_1],
    });
    expect(set.takeChanges()).toBeUndefined();
  });

  test('request and key codecs round-trip and refuse malformed bytes', () => {
    const r = { action: AlarmAction.DEACTIVATE, memberId: 2 ** 52 + 7, alarm: AlarmType.CORRUPT };
    expect(decodeAlarmRequest(encodeAlarmRequest(r))).toEqual(r);
    expect(decodeAlarmRequest(new Uint8Array(3))).toBeUndefined();
    const bad = encodeAlarmRequest(r);
    bad[9] = 9;
    expect(decodeAlarmRequest(bad)).toBeUndefined();
    expect(alarmOfKey(alarmKey(NOSPACE_1))).toEqual(NOSPACE_1);
    expect(alarmOfKey(new Uint8Array(12))).toBeUndefined();
  });

  test('the snapshot trailer round-trips, and data without one carries no alarms', () => {
    const body = enc('["members"]');
    const both = Buffer.concat([body, alarmTrailer([NOSPACE_1, { memberId: 5, alarm: AlarmType.CORRUPT }])]);
    const split = splitAlarmTrailer(both);
    expect(Buffer.from(split.body).toString()).toBe('["members"]');
    expect(split.alarms).toHaveLength(2);
    expect(splitAlarmTrailer(body)).toEqual({ body, alarms: [] });
  });
});

describe('alarms in the key-value state machine', () => {
  test('NOSPACE refuses puts and Txns with puts; deletes, read-only Txns and compaction still apply', () => {
    const a = new Applier();
    expect(a.command({ type: 'put', request: { key: enc('k'), value: enc('1') } }).ok).toBe(true);
    const raised = a.alarm(AlarmAction.ACTIVATE, 1, AlarmType.NOSPACE);
    expect(raised.ok && (raised.response as unknown as { alarms: unknown }).alarms).toEqual([NOSPACE_1]);

    const put = a.command({ type: 'put', request: { key: enc('k'), value: enc('2') } });
    expect(errorCode(put)).toBe(ErrorCode.NO_SPACE);
    expect(put.ok ? '' : put.error.message).toBe('etcdserver: mvcc: database space exceeded');
    const txnPut = a.command({
      type: 'txn',
      request: { failure: [{ requestPut: { key: enc('x'), value: enc('1') } }] },
    });
    expect(errorCode(txnPut)).toBe(ErrorCode.NO_SPACE);
    expect(a.command({ type: 'txn', request: { success: [{ requestRange: { key: enc('k') } }] } }).ok).toBe(
      true,
    );
    expect(a.command({ type: 'deleteRange', request: { key: enc('k') } }).ok).toBe(true);
    expect(a.command({ type: 'compact', request: { revision: 3 } }).ok).toBe(true);
    expect(a.sm.store.currentRevision).toBe(3);

    a.alarm(AlarmAction.DEACTIVATE, 1, AlarmType.NOSPACE);
    expect(a.command({ type: 'put', request: { key: enc('k'), value: enc('3') } }).ok).toBe(true);
  });

  test('a malformed alarm entry is refused the same way everywhere and changes nothing', () => {
    const a = new Applier();
    const r = a.sm.apply(
      { index: 1, term: 1 },
      { kind: EntryKind.Alarm, proposer: 0, seq: 0, payload: new Uint8Array(2) },
    );
    expect(errorCode(r)).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(a.sm.alarms.list()).toEqual([]);
  });

  test('alarms are persisted with the state machine and recovered, and a cleared alarm is deleted', async () => {
    const a = new Applier();
    const disk = new FakeKeys();
    a.alarm(AlarmAction.ACTIVATE, 1, AlarmType.NOSPACE);
    a.alarm(AlarmAction.ACTIVATE, 2, AlarmType.NOSPACE);
    a.command({ type: 'put', request: { key: enc('k'), value: enc('v') } });
    disk.write(a.sm.takeWrites() as KvWrites);
    let recovered = await recoverKvStateMachine(disk.recovered(a.index));
    expect(recovered.alarms.list()).toEqual([NOSPACE_1, { memberId: 2, alarm: AlarmType.NOSPACE }]);
    expect(recovered.store.currentRevision).toBe(1);

    a.alarm(AlarmAction.DEACTIVATE, 1, AlarmType.NOSPACE);
    disk.write(a.sm.takeWrites() as KvWrites);
    recovered = await recoverKvStateMachine(disk.recovered(a.index));
    expect(recovered.alarms.list()).toEqual([{ memberId: 2, alarm: AlarmType.NOSPACE }]);
  });

  test('a snapshot carries the alarms; restoring replaces them and rewrites them to disk', () => {
    const a = new Applier();
    a.command({ type: 'put', request: { key: enc('k'), value: enc('v') } });
    a.alarm(AlarmAction.ACTIVATE, 1, AlarmType.NOSPACE);
    const snap = collectBytes(a.sm.snapshot());

    const b = new Applier();
    b.alarm(AlarmAction.ACTIVATE, 9, AlarmType.CORRUPT);
    b.sm.takeWrites();
    b.sm.restore(a.index, snap);
    expect(b.sm.alarms.list()).toEqual([NOSPACE_1]);
    expect(b.sm.store.range({ key: enc('k') }).kvs).toHaveLength(1);
    const writes = b.sm.takeWrites() as KvWrites;
    expect(writes.replaceWith).toBeDefined();
    expect(writes.alarms).toEqual({ activated: [NOSPACE_1], deactivated: [] });
    // Restored state refuses puts as the original does.
    b.index = a.index;
    expect(errorCode(b.command({ type: 'put', request: { key: enc('k'), value: enc('w') } }))).toBe(
      ErrorCode.NO_SPACE,
    );
  });

  test('Hash is equal for equal contents and changes with an alarm', () => {
    const a = new Applier();
    const b = new Applier();
    for (const x of [a, b]) {
      x.command({ type: 'put', request: { key: enc('k1'), value: enc('v') } });
      x.command({ type: 'put', request: { key: enc('k2'), value: enc('w') } });
    }
    // Different applied indexes do not matter: only the contents are hashed.
    b.sm.skip({ index: ++b.index, term: 1 });
    expect(hashStateMachine(a.sm)).toBe(hashStateMachine(b.sm));
    const before = hashStateMachine(a.sm);
    a.alarm(AlarmAction.ACTIVATE, 1, AlarmType.NOSPACE);
    expect(hashStateMachine(a.sm)).not.toBe(before);
  });
});
