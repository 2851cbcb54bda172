/**
 * Txn compares with etcd's semantics. A compare over a range holds only if it holds for
 * every key in it; over no key at all it is checked against a zero KeyValue (version 0,
 * revisions 0, lease 0), except a VALUE compare, which then always fails.
 */
import { unreachable } from '../common/assert.js';
import { compareKeys, keyRangeOf } from './key-range.js';
import type { ReadView } from './range.js';
import { type Compare, CompareResult, CompareTarget } from './requests.js';
import { EMPTY_BYTES, type KeyValue } from './types.js';

const ZERO_KV: KeyValue = {
  key: EMPTY_BYTES,
  createRevision: 0,
  modRevision: 0,
  version: 0,
  value: EMPTY_BYTES,
  lease: 0,
};

/** Whether every compare holds at the view's revision (an empty list holds). */
export function comparesHold(view: ReadView, compares: readonly Compare[]): boolean {
  return compares.every((c) => compareHolds(view, c));
}

/** Whether one compare holds at the view's revision. */
export function compareHolds(view: ReadView, c: Compare): boolean {
  const { kvs } = view.state.rangeAt(keyRangeOf(c.key, c.rangeEnd), view.revision, 0, false);
  if (kvs.length === 0) return c.target !== CompareTarget.Value && compareKv(c, ZERO_KV);
  return kvs.every((kv) => compareKv(c, kv));
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  const order = fieldOrder(c, kv);
  switch (c.result) {
    case CompareResult.Equal:
      return order === 0;
    case CompareResult.NotEqual:
      return order !== 0;
    case CompareResult.Greater:
      return order > 0;
    case CompareResult.Less:
      return order < 0;
    default:
      return unreachable(c.result, 'compare result');
  }
}

/** The stored field against the compare's operand: negative, zero or positive. */
function fieldOrder(c: Compare, kv: KeyValue): number {
  switch (c.target) {
    case CompareTarget.Version:
      return compareNumbers(kv.version, c.version ?? 0);
    case CompareTarget.Create:
      return compareNumbers(kv.createRevision, c.createRevision ?? 0);
    case CompareTarget.Mod:
      return compareNumbers(kv.modRevision, c.modRevision ?? 0);
    case CompareTarget.Lease:
      return compareNumbers(kv.lease, c.lease ?? 0);
    case CompareTarget.Value:
      return compareKeys(kv.value, c.value ?? EMPTY_BYTES);
    default:
      return unreachable(c.target, 'compare target');
  }
}

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
