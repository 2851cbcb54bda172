/**
 * Range with etcd's semantics: read at a revision (history reads), then drop kvs outside
 * the min/max mod and create revisions, sort, cut at limit (`more` says something was cut),
 * and strip values for keysOnly. `count` is the number of keys in the range at that
 * revision, before filters and limit, as etcd reports it.
 */

import { unreachable } from '../common/assert.js';
import { ErrorCode } from '../common/errors.js';
import { compareBinary } from './binary-string.js';
import type { MvccErrorCode } from './errors.js';
import { keyRangeOf } from './key-range.js';
import { type RangeRequest, type RangeResponse, SortOrder, SortTarget } from './requests.js';
import { kvOf } from './slab-record.js';
import type { KvState } from './state.js';
import type { RevisionRecord } from './types.js';

/** The store as a read sees it: the state, and the revision that counts as "now". */
export interface ReadView {
  readonly state: KvState;
  /** The revision a read with revision 0 reads at (inside a write Txn: including its writes). */
  readonly revision: number;
}

/**
 * Why a read at this revision must be refused, or undefined if it may go ahead: above
 * "now" is FUTURE_REVISION; below the compaction revision is COMPACTED. The compaction
 * revision itself stays readable, as in etcd (`rev < compactMainRev` is the refusal test).
 * A revision of 0 or less reads "now".
 */
export function rangeRevisionError(view: ReadView, revision: number): MvccErrorCode | undefined {
  if (revision > view.revision) return ErrorCode.FUTURE_REVISION;
  if (revision > 0 && revision < view.state.compactedRevision) return ErrorCode.COMPACTED;
  return undefined;
}

/** Executes a range whose revision rangeRevisionError accepted. */
export function executeRange(view: ReadView, req: RangeRequest): RangeResponse {
  const limit = req.limit ?? 0;
  const sortOrder = effectiveSortOrder(req.sortOrder ?? SortOrder.None, req.sortTarget ?? SortTarget.Key);
  const filtered =
    (req.minModRevision ?? 0) !== 0 ||
    (req.maxModRevision ?? 0) !== 0 ||
    (req.minCreateRevision ?? 0) !== 0 ||
    (req.maxCreateRevision ?? 0) !== 0;
  // Sorting and filtering need every kv; otherwise one more than the limit tells `more`.
  const fetchLimit = sortOrder !== SortOrder.None || filtered || limit <= 0 ? 0 : limit + 1;
  const revision = (req.revision ?? 0) > 0 ? req.revision! : view.revision;
  const found = view.state.rangeAt(
    keyRangeOf(req.key, req.rangeEnd),
    revision,
    fetchLimit,
    req.countOnly === true,
  );
  let records = found.records;
  if (filtered) records = records.filter((r) => passesFilters(r, req));
  if (sortOrder !== SortOrder.None) sortRecords(records, req.sortTarget ?? SortTarget.Key, sortOrder);
  let more = false;
  if (limit > 0 && records.length > limit) {
    records = records.slice(0, limit);
    more = true;
  }
  const withValues = req.keysOnly !== true;
  const kvs = records.map((r) => kvOf(r, withValues));
  return { header: { revision: view.revision }, kvs, more, count: found.count };
}

/**
 * etcd's rule: a target other than KEY with order NONE sorts ascending; KEY ascending is
 * already the walk's order, so it needs no sort.
 */
function effectiveSortOrder(order: SortOrder, target: SortTarget): SortOrder {
  if (target !== SortTarget.Key && order === SortOrder.None) return SortOrder.Ascend;
  if (target === SortTarget.Key && order === SortOrder.Ascend) return SortOrder.None;
  return order;
}

function passesFilters(r: RevisionRecord, req: RangeRequest): boolean {
  const minMod = req.minModRevision ?? 0;
  const maxMod = req.maxModRevision ?? 0;
  const minCreate = req.minCreateRevision ?? 0;
  const maxCreate = req.maxCreateRevision ?? 0;
  if (maxMod !== 0 && r.main > maxMod) return false;
  if (minMod !== 0 && r.main < minMod) return false;
  if (maxCreate !== 0 && r.createRevision > maxCreate) return false;
  if (minCreate !== 0 && r.createRevision < minCreate) return false;
  return true;
}

/**
 * Sorts in place. The sort is stable and the input is in key order, so ties (equal
 * versions, revisions or values) stay in ascending key order in both directions: a
 * deterministic choice where etcd's unstable sort leaves the order of ties unspecified.
 */
function sortRecords(records: RevisionRecord[], target: SortTarget, order: SortOrder): void {
  const sign = order === SortOrder.Descend ? -1 : 1;
  if (target === SortTarget.Value) {
    // Each value read once: a record loaded from disk reads its value from storage at every access.
    const byValue = records.map((record) => ({ record, value: record.value }));
    byValue.sort((a, b) => sign * compareBinary(a.value, b.value));
    for (let i = 0; i < byValue.length; i++) records[i] = byValue[i]!.record;
    return;
  }
  const by = fieldComparator(target);
  records.sort((a, b) => sign * by(a, b));
}

function fieldComparator(target: SortTarget): (a: RevisionRecord, b: RevisionRecord) => number {
  switch (target) {
    case SortTarget.Key:
      return (a, b) => compareBinary(a.key, b.key);
    case SortTarget.Version:
      return (a, b) => a.version - b.version;
    case SortTarget.Create:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.Mod:
      return (a, b) => a.main - b.main;
    case SortTarget.Value:
      return (a, b) => compareBinary(a.value, b.value);
    default:
      return unreachable(target, 'sort target');
  }
}
