/**
 * Range with etcd's semantics: read at a revision (history reads), then drop kvs outside
 * the min/max mod and create revisions, sort, cut at limit (`more` says something was cut),
 * and strip values for keysOnly. `count` is the number of keys in the range at that
 * revision, before filters and limit, as etcd reports it.
 */

import { unreachable } from '../common/assert.js';
import { ErrorCode } from '../common/errors.js';
import type { MvccErrorCode } from './errors.js';
import { compareKeys, keyRangeOf } from './key-range.js';
import { type RangeRequest, type RangeResponse, SortOrder, SortTarget } from './requests.js';
import type { KvState } from './state.js';
import { EMPTY_BYTES, type KeyValue } from './types.js';

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
  let kvs = found.kvs;
  if (filtered) kvs = kvs.filter((kv) => passesFilters(kv, req));
  if (sortOrder !== SortOrder.None) sortKvs(kvs, req.sortTarget ?? SortTarget.Key, sortOrder);
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
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

function passesFilters(kv: KeyValue, req: RangeRequest): boolean {
  const minMod = req.minModRevision ?? 0;
  const maxMod = req.maxModRevision ?? 0;
  const minCreate = req.minCreateRevision ?? 0;
  const maxCreate = req.maxCreateRevision ?? 0;
  if (maxMod !== 0 && kv.modRevision > maxMod) return false;
  if (minMod !== 0 && kv.modRevision < minMod) return false;
  if (maxCreate !== 0 && kv.createRevision > maxCreate) return false;
  if (minCreate !== 0 && kv.createRevision < minCreate) return false;
  return true;
}

/**
 * Sorts in place. The sort is stable and the input is in key order, so ties (equal
 * versions, revisions or values) stay in ascending key order in both directions: a
 * deterministic choice where etcd's unstable sort leaves the order of ties unspecified.
 */
function sortKvs(kvs: KeyValue[], target: SortTarget, order: SortOrder): void {
  const sign = order === SortOrder.Descend ? -1 : 1;
  const by = fieldComparator(target);
  kvs.sort((a, b) => sign * by(a, b));
}

function fieldComparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.Key:
      return (a, b) => compareKeys(a.key, b.key);
    case SortTarget.Version:
      return (a, b) => a.version - b.version;
    case SortTarget.Create:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.Mod:
      return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.Value:
      return (a, b) => compareKeys(a.value, b.value);
    default:
      return unreachable(target, 'sort target');
  }
}
