// Proves the Txn shape checks reproduce etcd's gRPC-layer rules — the per-list op limit and the shrinking budget of nested Txns, empty keys and empty ops, and the duplicate-key rule with its exact overlap cases (puts, deletes, nested branches, and the "\0" range end quirk) — by validating requests directly and through apply.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import {
  CompareResult,
  CompareTarget,
  DEFAULT_MAX_TXN_OPS,
  type RequestOp,
  type TxnRequest,
  validateTxn,
} from '../../src/mvcc/index.js';
import { b, fails, newStore } from './support.js';

const putOp = (key: string): RequestOp => ({ requestPut: { key: b(key), value: b('v') } });
const delOp = (key: string, end?: string): RequestOp => ({
  requestDeleteRange: end === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(end) },
});
const nested = (success: RequestOp[], failure: RequestOp[] = []): RequestOp => ({
  requestTxn: { success, failure },
});
const codeOf = (req: TxnRequest, max = DEFAULT_MAX_TXN_OPS) => validateTxn(req, max)?.code;

describe('operation limits', () => {
  const puts = (n: number, prefix = 'k') => Array.from({ length: n }, (_, i) => putOp(`${prefix}${i}`));

  it("allows 128 ops per list and refuses 129 with etcd's message", () => {
    expect(codeOf({ success: puts(128), failure: puts(128) })).toBeUndefined();
    const store = newStore();
    const err = fails(store, { type: 'txn', request: { success: puts(129) } });
    expect([err.code, err.message]).toEqual([
      ErrorCode.TOO_MANY_OPS,
      'etcdserver: too many operations in txn request',
    ]);
    const compares = Array.from({ length: 129 }, () => ({
      key: b('k'),
      target: CompareTarget.Version,
      result: CompareResult.Equal,
    }));
    expect(codeOf({ compare: compares })).toBe(ErrorCode.TOO_MANY_OPS);
  });

  it("the limit is configurable and apply enforces the store's setting", () => {
    const store = newStore({ maxTxnOps: 3 });
    expect(fails(store, { type: 'txn', request: { success: puts(4) } }).code).toBe(ErrorCode.TOO_MANY_OPS);
    expect(store.apply({ type: 'txn', request: { success: puts(3) } }).ok).toBe(true);
  });

  it("a nested Txn gets the budget its parent leaves: max minus the parent's longest list", () => {
    // Parent's longest list is 2 (the nested op and one put): the nested Txn may have 128 - 2 ops.
    expect(codeOf({ success: [putOp('p'), nested(puts(126, 'n'))] })).toBeUndefined();
    expect(codeOf({ success: [putOp('p'), nested(puts(127, 'n'))] })).toBe(ErrorCode.TOO_MANY_OPS);
  });
});

describe('keys and ops', () => {
  it('refuses empty keys in compares, ranges, puts and deletes, at any depth', () => {
    const empty = new Uint8Array(0);
    expect(
      codeOf({ compare: [{ key: empty, target: CompareTarget.Version, result: CompareResult.Equal }] }),
    ).toBe(ErrorCode.EMPTY_KEY);
    expect(codeOf({ success: [{ requestRange: { key: empty } }] })).toBe(ErrorCode.EMPTY_KEY);
    expect(codeOf({ failure: [{ requestPut: { key: empty } }] })).toBe(ErrorCode.EMPTY_KEY);
    expect(codeOf({ success: [nested([{ requestDeleteRange: { key: empty } }])] })).toBe(ErrorCode.EMPTY_KEY);
  });

  it('refuses value/lease next to ignore flags inside a Txn', () => {
    expect(codeOf({ success: [{ requestPut: { key: b('k'), value: b('x'), ignoreValue: true } }] })).toBe(
      ErrorCode.VALUE_PROVIDED,
    );
    expect(codeOf({ success: [{ requestPut: { key: b('k'), lease: 1, ignoreLease: true } }] })).toBe(
      ErrorCode.LEASE_PROVIDED,
    );
  });

  it('an op with no request answers "key not found" (etcd\'s answer to an empty union)', () => {
    const err = validateTxn({ success: [{} as RequestOp] }, DEFAULT_MAX_TXN_OPS);
    expect([err?.code, err?.message]).toEqual([ErrorCode.KEY_NOT_FOUND, 'etcdserver: key not found']);
  });

  it('refuses unknown compare results and targets', () => {
    expect(
      codeOf({ compare: [{ key: b('k'), target: 9 as CompareTarget, result: CompareResult.Equal }] }),
    ).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('duplicate keys', () => {
  const dup = ErrorCode.DUPLICATE_KEY;

  it("the same key put twice in one list, with etcd's message", () => {
    const err = fails(newStore(), { type: 'txn', request: { success: [putOp('a'), putOp('a')] } });
    expect([err.code, err.message]).toEqual([dup, 'etcdserver: duplicate key given in txn request']);
  });

  it('success and failure are separate lists: the same key in both is fine', () => {
    expect(codeOf({ success: [putOp('a')], failure: [putOp('a')] })).toBeUndefined();
  });

  it('a put inside a delete of the same list, whether the delete is a key, a range or a prefix', () => {
    expect(codeOf({ success: [delOp('a'), putOp('a')] })).toBe(dup);
    expect(codeOf({ success: [putOp('b'), delOp('a', 'c')] })).toBe(dup);
    expect(codeOf({ success: [delOp('p/', 'p0'), putOp('p/x')] })).toBe(dup);
    expect(codeOf({ success: [delOp('a', 'c'), putOp('c')] })).toBeUndefined();
  });

  it('overlapping deletes are fine', () => {
    expect(codeOf({ success: [delOp('a', 'z'), delOp('b'), delOp('a', 'c')] })).toBeUndefined();
  });

  it('a delete "to the end" (range end "\\0") does not conflict with puts: etcd\'s interval check compares "\\0" as a plain key', () => {
    expect(
      codeOf({ success: [{ requestDeleteRange: { key: b('a'), rangeEnd: Uint8Array.of(0) } }, putOp('b')] }),
    ).toBeUndefined();
  });

  it('a key put both in a nested Txn and in its parent list', () => {
    expect(codeOf({ success: [putOp('a'), nested([putOp('a')])] })).toBe(dup);
    expect(codeOf({ success: [nested([], [putOp('a')]), putOp('a')] })).toBe(dup);
  });

  it('the two branches of one nested Txn may put the same key; two nested Txns may not', () => {
    expect(codeOf({ success: [nested([putOp('a')], [putOp('a')])] })).toBeUndefined();
    expect(codeOf({ success: [nested([putOp('a')]), nested([putOp('a')])] })).toBe(dup);
    expect(codeOf({ success: [nested([putOp('a')]), nested([], [putOp('a')])] })).toBe(dup);
  });

  it('a nested put inside a parent-level delete, and a parent put inside a nested delete', () => {
    expect(codeOf({ success: [delOp('a', 'c'), nested([putOp('b')])] })).toBe(dup);
    expect(codeOf({ success: [nested([delOp('a', 'c')]), putOp('b')] })).toBe(dup);
  });

  it('a nested delete conflicts with puts of later nested Txns only (etcd checks in that order)', () => {
    expect(codeOf({ success: [nested([delOp('a')]), nested([putOp('a')])] })).toBe(dup);
    expect(codeOf({ success: [nested([putOp('a')]), nested([delOp('a')])] })).toBeUndefined();
  });

  it('applies the rule to the failure list too', () => {
    expect(codeOf({ success: [putOp('a')], failure: [putOp('b'), putOp('b')] })).toBe(dup);
  });
});
