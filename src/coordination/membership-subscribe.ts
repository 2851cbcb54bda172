/**
 * Subscriptions to the service registry: a snapshot of the selected instances at a revision
 * R (one linearizable range), then every change from R + 1 on, replayed from the store's
 * history and then live (CoordinationKv.watch: revision order, no gap, no duplicate). One
 * event per revision carries every change of that revision, so a subscriber that saw
 * revision r and resubscribes from r + 1 (on any member) misses nothing and sees nothing
 * twice. A compacted start ends with SUBSCRIPTION_COMPACTED (start again with a snapshot); a
 * consumer too slow for the watch's bounded buffers ends with SUBSCRIBER_TOO_SLOW.
 */
import { CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import { EventType, type MvccEvent } from '../mvcc/index.js';
import { checkSelection, instancesOf, placeholder } from './membership.js';
import {
  type Instance,
  inSelection,
  invalid,
  parseInstance,
  parseRecordKey,
  type ServiceSelection,
  selectionRange,
} from './membership-records.js';
import type { CoordinationKv } from './ports.js';

/** One change of an instance: its record now (upsert) or the last record it had (delete). */
export interface InstanceChange {
  readonly type: 'upsert' | 'delete';
  readonly instance: Instance;
}

/** What a subscription yields: the snapshot first (unless resuming), then one event per changed revision. */
export type SubscriptionEvent =
  | { readonly kind: 'snapshot'; readonly revision: number; readonly instances: readonly Instance[] }
  | { readonly kind: 'changes'; readonly revision: number; readonly changes: readonly InstanceChange[] };

/** The change an event of a record key makes, or undefined for a key that never held a record. */
function changeOf(ev: MvccEvent): InstanceChange | undefined {
  const before = ev.prevKv ? parseInstance(ev.prevKv) : undefined;
  if (ev.type === EventType.Put) {
    const now = parseInstance(ev.kv);
    if (now) return { type: 'upsert', instance: now };
    // Overwritten with something that is not a record: to a subscriber the instance is gone.
    return before ? { type: 'delete', instance: before } : undefined;
  }
  if (before) return { type: 'delete', instance: before };
  const names = parseRecordKey(ev.kv.key);
  return names && ev.prevKv
    ? { type: 'delete', instance: placeholder(names.service, names.instanceId, ev.prevKv) }
    : undefined;
}

/**
 * The snapshot and changes of a selection; fromRevision 0 starts with a snapshot, r > 0
 * resumes at revision r without one. Ends quietly when signal aborts.
 */
export async function* subscribe(
  kv: CoordinationKv,
  sel: ServiceSelection,
  fromRevision: number,
  signal: AbortSignal,
): AsyncGenerator<SubscriptionEvent> {
  checkSelection(sel);
  if (!Number.isSafeInteger(fromRevision) || fromRevision < 0)
    throw invalid('from_revision must be a non-negative integer');
  const range = selectionRange(sel);
  let start = fromRevision;
  if (start === 0) {
    const r = await kv.range(range);
    yield { kind: 'snapshot', revision: r.header.revision, instances: instancesOf(sel, r.kvs) };
    start = r.header.revision + 1;
  }
  try {
    for await (const batch of kv.watch(range, start, signal)) {
      const changes: InstanceChange[] = [];
      for (const ev of batch.events) {
        if (!inSelection(sel, ev.kv.key)) continue;
        const c = changeOf(ev);
        if (c) changes.push(c);
      }
      if (changes.length > 0) yield { kind: 'changes', revision: batch.revision, changes };
    }
  } catch (err) {
    if (isCairnError(err, ErrorCode.COMPACTED))
      throw new CairnError(
        ErrorCode.SUBSCRIPTION_COMPACTED,
        `membership: revision ${start} has been compacted; subscribe again with a snapshot`,
      );
    if (isCairnError(err, ErrorCode.OVERLOADED) && err.message.includes('too slow'))
      throw new CairnError(ErrorCode.SUBSCRIBER_TOO_SLOW, `membership: subscriber cut off: ${err.message}`);
    throw err;
  }
}
