/**
 * Txn compares with etcd's semantics. A compare over a range holds only if it holds for
 * every key in it; over no key at all it is checked against a zero KeyValue (version 0,
 * revisions 0, lease 0), except a VALUE compare, which then always fails.
 */
import { unreachable } from '../common/assert.js';
import { type BinaryString, binaryOf, compareBinary } from './binary-string.js';
import { keyRangeOf } from './key-range.js';
import type { ReadView } from './range.js';
import { type Compare, CompareResult, CompareTarget } from './requests.js';
import { EventType, type RevisionRecord } from './types.js';

/** What a compare over no key at all is checked against. */
const ZERO_RECORD: RevisionRecord = {
  main: 0,
  sub: 0,
  type: EventType.Put,
  key: '',
  value: '',
  createRevision: 0,
  version: 0,
  lease: 0,
};

/** Whether every compare holds at the view's revision (an empty list holds). */
export function comparesHold(view: ReadView, compares: readonly Compare[]): boolean {
  return compares.every((c) => compareHolds(view, c));
}

/** Whether one compare holds at the view's revision. */
export function compareHolds(view: ReadView, c: Compare): boolean {
  const { records } = view.state.rangeAt(keyRangeOf(c.key, c.rangeEnd), view.revision, 0, false);
  if (records.length === 0) return c.target !== CompareTarget.Value && compareRecord(c, ZERO_RECORD, '');
  // The operand's bytes as a binary string once, not once per key of the range.
  const value = c.target === CompareTarget.Value && c.value !== undefined ? binaryOf(c.value) : '';
  return records.every((r) => compareRecord(c, r, value));
}

function compareRecord(c: Compare, r: RevisionRecord, value: BinaryString): boolean {
  const order = fieldOrder(c, r, value);
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
function fieldOrder(c: Compare, r: RevisionRecord, value: BinaryString): number {
  switch (c.target) {
    case CompareTarget.Version:
      return compareNumbers(r.version, c.version ?? 0);
    case CompareTarget.Create:
      return compareNumbers(r.createRevision, c.createRevision ?? 0);
    case CompareTarget.Mod:
      return compareNumbers(r.main, c.modRevision ?? 0);
    case CompareTarget.Lease:
      return compareNumbers(r.lease, c.lease ?? 0);
    case CompareTarget.Value:
      return compareBinary(r.value, value);
    default:
      return unreachable(c.target, 'compare target');
  }
}

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
