// Proves Txn behaves as etcd's: every compare target and result (single key and rangeEnd, missing keys), one revision for all writes, reads that see earlier writes, nested Txns whose compares see the pre-Txn state, header revisions, and checks that refuse the whole Txn before any write — by applying Txns to small stores and inspecting responses and state.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import {
  type Compare,
  CompareResult,
  CompareTarget,
  EventType,
  type MvccStore,
  type RequestOp,
  type TxnRequest,
} from '../../src/mvcc/index.js';
import { b, fails, get, newStore, ok, put, str } from './support.js';

function txn(store: MvccStore, request: TxnRequest) {
  return ok(store, { type: 'txn', request });
}

function holds(store: MvccStore, compare: Compare): boolean {
  return txn(store, { compare: [compare] }).succeeded;
}

const putOp = (key: string, value: string): RequestOp => ({ requestPut: { key: b(key), value: b(value) } });
const getOp = (key: string): RequestOp => ({ requestRange: { key: b(key) } });

describe('compare targets and results', () => {
  // k: created at 2, modified at 3, version 2, value "m", lease 7.
  function store(): MvccStore {
    const s = newStore();
    put(s, 'k', 'a', 7);
    put(s, 'k', 'm', 7);
    return s;
  }
  const k = b('k');

  it('VERSION, CREATE, MOD and LEASE against each result', () => {
    const s = store();
    const cases: [Compare, boolean][] = [
      [{ key: k, target: CompareTarget.Version, result: CompareResult.Equal, version: 2 }, true],
      [{ key: k, target: CompareTarget.Version, result: CompareResult.Greater, version: 1 }, true],
      [{ key: k, target: CompareTarget.Version, result: CompareResult.Less, version: 2 }, false],
      [{ key: k, target: CompareTarget.Version, result: CompareResult.NotEqual, version: 2 }, false],
      [{ key: k, target: CompareTarget.Create, result: CompareResult.Equal, createRevision: 2 }, true],
      [{ key: k, target: CompareTarget.Create, result: CompareResult.Less, createRevision: 3 }, true],
      [{ key: k, target: CompareTarget.Mod, result: CompareResult.Equal, modRevision: 3 }, true],
      [{ key: k, target: CompareTarget.Mod, result: CompareResult.Greater, modRevision: 3 }, false],
      [{ key: k, target: CompareTarget.Lease, result: CompareResult.Equal, lease: 7 }, true],
      [{ key: k, target: CompareTarget.Lease, result: CompareResult.NotEqual, lease: 0 }, true],
    ];
    for (const [compare, expected] of cases)
      expect(holds(s, compare), JSON.stringify(compare)).toBe(expected);
  });

  it('VALUE compares bytewise', () => {
    const s = store();
    expect(
      holds(s, { key: k, target: CompareTarget.Value, result: CompareResult.Equal, value: b('m') }),
    ).toBe(true);
    expect(
      holds(s, { key: k, target: CompareTarget.Value, result: CompareResult.Greater, value: b('a') }),
    ).toBe(true);
    expect(
      holds(s, { key: k, target: CompareTarget.Value, result: CompareResult.Less, value: b('mm') }),
    ).toBe(true);
    expect(
      holds(s, { key: k, target: CompareTarget.Value, result: CompareResult.NotEqual, value: b('m') }),
    ).toBe(false);
  });

  it('a missing key compares as version/revisions/lease 0; a VALUE compare on it always fails', () => {
    const s = store();
    const missing = b('nope');
    expect(holds(s, { key: missing, target: CompareTarget.Create, result: CompareResult.Equal })).toBe(true);
    expect(
      holds(s, { key: missing, target: CompareTarget.Version, result: CompareResult.Equal, version: 0 }),
    ).toBe(true);
    expect(
      holds(s, { key: missing, target: CompareTarget.Value, result: CompareResult.NotEqual, value: b('x') }),
    ).toBe(false);
    expect(holds(s, { key: missing, target: CompareTarget.Value, result: CompareResult.Equal })).toBe(false);
  });

  it('an operand other than the target reads as 0 (etcd oneof semantics)', () => {
    const s = store();
    expect(
      holds(s, { key: k, target: CompareTarget.Version, result: CompareResult.Equal, modRevision: 2 }),
    ).toBe(false);
    expect(
      holds(s, { key: k, target: CompareTarget.Version, result: CompareResult.Greater, modRevision: 99 }),
    ).toBe(true);
  });

  it('with rangeEnd, the compare must hold for every key in the range', () => {
    const s = newStore();
    put(s, 'p/1', 'x');
    put(s, 'p/2', 'x');
    put(s, 'p/2', 'y');
    const prefix = { key: b('p/'), rangeEnd: b('p0') };
    expect(
      holds(s, { ...prefix, target: CompareTarget.Create, result: CompareResult.Greater, createRevision: 0 }),
    ).toBe(true);
    expect(
      holds(s, { ...prefix, target: CompareTarget.Version, result: CompareResult.Equal, version: 1 }),
    ).toBe(false);
    expect(
      holds(s, { ...prefix, target: CompareTarget.Mod, result: CompareResult.Less, modRevision: 5 }),
    ).toBe(true);
    const empty = { key: b('q/'), rangeEnd: b('q0') };
    expect(
      holds(s, { ...empty, target: CompareTarget.Create, result: CompareResult.Equal, createRevision: 0 }),
    ).toBe(true);
    const fromKey = { key: b('p/2'), rangeEnd: Uint8Array.of(0) };
    expect(
      holds(s, { ...fromKey, target: CompareTarget.Version, result: CompareResult.Equal, version: 2 }),
    ).toBe(true);
  });

  it('all compares must hold; none at all holds', () => {
    const s = store();
    const yes: Compare = { key: k, target: CompareTarget.Version, result: CompareResult.Equal, version: 2 };
    const no: Compare = { key: k, target: CompareTarget.Version, result: CompareResult.Equal, version: 9 };
    expect(txn(s, { compare: [yes, yes] }).succeeded).toBe(true);
    expect(txn(s, { compare: [yes, no] }).succeeded).toBe(false);
    expect(txn(s, {}).succeeded).toBe(true);
  });
});

describe('execution', () => {
  it('runs success or failure; all writes share one revision with increasing sub revisions', () => {
    const s = newStore();
    const cond: Compare = { key: b('flag'), target: CompareTarget.Create, result: CompareResult.Equal };
    const result = s.apply({
      type: 'txn',
      request: { compare: [cond], success: [putOp('a', '1'), putOp('b', '2')], failure: [putOp('c', '3')] },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.response.succeeded).toBe(true);
    expect(result.response.header.revision).toBe(2);
    expect(result.changes.revisions.flatMap((rw) => rw.records).map((r) => [r.main, r.sub])).toEqual([
      [2, 0],
      [2, 1],
    ]);
    expect(get(s, 'a')?.modRevision).toBe(2);
    expect(get(s, 'b')?.modRevision).toBe(2);
    expect(get(s, 'c')).toBeUndefined();
  });

  it('a read-only Txn, or one whose chosen branch writes nothing, leaves the revision', () => {
    const s = newStore();
    put(s, 'a', '1');
    const resp = txn(s, { success: [getOp('a')], failure: [putOp('a', '2')] });
    expect(resp.header.revision).toBe(2);
    expect(s.currentRevision).toBe(2);
    const deleteNothing = txn(s, { success: [{ requestDeleteRange: { key: b('none') } }] });
    expect(deleteNothing.header.revision).toBe(2);
    expect(s.currentRevision).toBe(2);
  });

  it('reads see the writes made before them in the same Txn, and answer that revision', () => {
    const s = newStore();
    put(s, 'a', 'old');
    put(s, 'b', 'doomed');
    const resp = txn(s, {
      success: [
        getOp('a'),
        putOp('a', 'new'),
        getOp('a'),
        getOp('b'),
        { requestDeleteRange: { key: b('b') } },
        getOp('b'),
      ],
    });
    const ranges = resp.responses.flatMap((r) => ('responseRange' in r ? [r.responseRange] : []));
    expect(ranges.map((r) => r.kvs.map((kv) => str(kv.value)))).toEqual([['old'], ['new'], ['doomed'], []]);
    expect(ranges.map((r) => r.header.revision)).toEqual([3, 4, 4, 4]);
  });

  it('sub-responses carry their revisions: put the Txn revision, a delete of nothing the current one', () => {
    const s = newStore();
    put(s, 'x', '1');
    const resp = txn(s, {
      success: [
        { requestDeleteRange: { key: b('none') } },
        putOp('y', '1'),
        { requestDeleteRange: { key: b('none') } },
      ],
    });
    expect(resp.responses).toEqual([
      { responseDeleteRange: { header: { revision: 2 }, deleted: 0, prevKvs: [] } },
      { responsePut: { header: { revision: 3 } } },
      { responseDeleteRange: { header: { revision: 3 }, deleted: 0, prevKvs: [] } },
    ]);
  });

  it('the lock recipe: put if CreateRevision == 0 else get, plus the first key by create revision', () => {
    const s = newStore();
    const lockTxn = (owner: string): TxnRequest => ({
      compare: [{ key: b(`lock/${owner}`), target: CompareTarget.Create, result: CompareResult.Equal }],
      success: [
        putOp(`lock/${owner}`, ''),
        { requestRange: { key: b('lock/'), rangeEnd: b('lock0'), sortTarget: 2, sortOrder: 1, limit: 1 } },
      ],
      failure: [
        getOp(`lock/${owner}`),
        { requestRange: { key: b('lock/'), rangeEnd: b('lock0'), sortTarget: 2, sortOrder: 1, limit: 1 } },
      ],
    });
    const first = txn(s, lockTxn('a'));
    const second = txn(s, lockTxn('b'));
    const again = txn(s, lockTxn('a'));
    const holder = (r: typeof first) => {
      const last = r.responses[1]!;
      return 'responseRange' in last ? str(last.responseRange.kvs[0]!.key) : '';
    };
    expect([first.succeeded, second.succeeded, again.succeeded]).toEqual([true, true, false]);
    expect([holder(first), holder(second), holder(again)]).toEqual(['lock/a', 'lock/a', 'lock/a']);
  });

  it('events: one per change, in order, with prevKv', () => {
    const s = newStore();
    put(s, 'a', '1');
    const result = s.apply({
      type: 'txn',
      request: { success: [putOp('a', '2'), putOp('b', '1'), { requestDeleteRange: { key: b('a') } }] },
    });
    // put a then delete a in one Txn is refused (duplicate key); use separate keys instead.
    expect(result.ok).toBe(false);
    const r2 = s.apply({
      type: 'txn',
      request: { success: [putOp('b', '1'), { requestDeleteRange: { key: b('a') } }] },
    });
    expect(r2.ok).toBe(true);
    expect(
      r2.events.map((e) => [e.type, str(e.kv.key), e.kv.modRevision, e.prevKv && str(e.prevKv.value)]),
    ).toEqual([
      [EventType.Put, 'b', 3, undefined],
      [EventType.Delete, 'a', 3, '1'],
    ]);
  });
});

describe('nested Txns', () => {
  it('run on the chosen branch; their compares see the state before the outer Txn', () => {
    const s = newStore();
    const created0: Compare = { key: b('k'), target: CompareTarget.Create, result: CompareResult.Equal };
    // The outer Txn creates k first; the nested compare still sees k missing (etcd evaluates all compares up front).
    const resp = txn(s, {
      success: [
        putOp('k', '1'),
        {
          requestTxn: {
            compare: [created0],
            success: [putOp('seen-missing', 'y')],
            failure: [putOp('seen-present', 'y')],
          },
        },
      ],
    });
    expect(get(s, 'seen-missing')).toBeDefined();
    expect(get(s, 'seen-present')).toBeUndefined();
    const nested = resp.responses[1]!;
    expect('responseTxn' in nested && nested.responseTxn).toEqual({
      header: { revision: 0 },
      succeeded: true,
      responses: [{ responsePut: { header: { revision: 2 } } }],
    });
    expect(resp.header.revision).toBe(2);
  });

  it('a nested Txn on the branch not taken is not run', () => {
    const s = newStore();
    const never: Compare = {
      key: b('x'),
      target: CompareTarget.Version,
      result: CompareResult.Equal,
      version: 5,
    };
    const resp = txn(s, {
      compare: [never],
      success: [{ requestTxn: { success: [putOp('a', '1')] } }],
      failure: [{ requestTxn: { success: [putOp('b', '1')] } }],
    });
    expect(resp.succeeded).toBe(false);
    expect(get(s, 'a')).toBeUndefined();
    expect(get(s, 'b')).toBeDefined();
  });

  it('nesting several levels deep shares one revision', () => {
    const s = newStore();
    const deep: TxnRequest = {
      success: [
        putOp('l1', '1'),
        { requestTxn: { success: [putOp('l2', '2'), { requestTxn: { success: [putOp('l3', '3')] } }] } },
      ],
    };
    txn(s, deep);
    expect([get(s, 'l1')?.modRevision, get(s, 'l2')?.modRevision, get(s, 'l3')?.modRevision]).toEqual([
      2, 2, 2,
    ]);
  });
});

describe('checks that refuse the whole Txn before any write', () => {
  it('a range at a future or compacted revision', () => {
    const s = newStore();
    put(s, 'a', '1');
    put(s, 'a', '2');
    put(s, 'a', '3');
    ok(s, { type: 'compact', request: { revision: 3 } });
    const future = fails(s, {
      type: 'txn',
      request: { success: [putOp('b', '1'), { requestRange: { key: b('a'), revision: 5 } }] },
    });
    expect(future.code).toBe(ErrorCode.FUTURE_REVISION);
    const compacted = fails(s, {
      type: 'txn',
      request: { success: [putOp('b', '1'), { requestRange: { key: b('a'), revision: 2 } }] },
    });
    expect(compacted.code).toBe(ErrorCode.COMPACTED);
    expect(get(s, 'b')).toBeUndefined();
    const atBoundary = txn(s, { success: [{ requestRange: { key: b('a'), revision: 3 } }] });
    const r = atBoundary.responses[0]!;
    expect('responseRange' in r && str(r.responseRange.kvs[0]!.value)).toBe('2');
  });

  it('a put with ignoreValue on a missing key, even in a nested Txn, and an unknown lease', () => {
    const s = newStore({ leaseExists: (id) => id === 1 });
    const nestedIgnore: TxnRequest = {
      success: [
        putOp('a', '1'),
        { requestTxn: { success: [{ requestPut: { key: b('missing'), ignoreValue: true } }] } },
      ],
    };
    expect(fails(s, { type: 'txn', request: nestedIgnore }).code).toBe(ErrorCode.KEY_NOT_FOUND);
    const badLease: TxnRequest = { success: [putOp('a', '1'), { requestPut: { key: b('b'), lease: 2 } }] };
    expect(fails(s, { type: 'txn', request: badLease }).code).toBe(ErrorCode.LEASE_NOT_FOUND);
    expect(get(s, 'a')).toBeUndefined();
  });

  it('checks only the branch that runs', () => {
    const s = newStore();
    const resp = txn(s, {
      compare: [{ key: b('x'), target: CompareTarget.Version, result: CompareResult.Equal, version: 1 }],
      success: [{ requestPut: { key: b('missing'), ignoreValue: true } }],
      failure: [putOp('ok', '1')],
    });
    expect(resp.succeeded).toBe(false);
    expect(get(s, 'ok')).toBeDefined();
  });
});

describe('readTxn (serializable, served locally)', () => {
  it('answers a range-only Txn without changing the store and refuses one that writes', () => {
    const s = newStore();
    put(s, 'a', '1');
    const resp = s.readTxn({
      compare: [{ key: b('a'), target: CompareTarget.Version, result: CompareResult.Equal, version: 1 }],
      success: [getOp('a')],
    });
    expect(resp.succeeded).toBe(true);
    expect(resp.header.revision).toBe(2);
    expect(() => s.readTxn({ success: [putOp('b', '1')] })).toThrow(/only range/);
    expect(s.currentRevision).toBe(2);
  });
});
