/**
 * The waiting line both recipes share. Participants of one name are ordered by the create
 * revisions of their keys; a participant waits only for the one key just ahead of its own
 * (created last before it) to be deleted, then looks again, so a release wakes exactly one
 * waiter (no herd). It also watches its own key, and stops waiting at once if that key is
 * deleted (its lease expired or was revoked, or someone deleted it).
 *
 * A read or watch that fails for a passing reason (this member lost touch with the leader,
 * a read timed out, a watch was dropped as too slow or compacted) does not end the wait: the
 * participant looks again after a short pause, keeping its key and so its place in line,
 * until its turn, its key's deletion, or the caller's abort (found by the chaos lock
 * workload: a waiter first in line behind a deleted key lost the wait and its place to a
 * read barrier that timed out during a one-way partition).
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { ResponseHeader } from '../mvcc/index.js';
import { createRevisionIs, lastCreatedBefore } from './keys.js';
import type { CoordinationKv } from './ports.js';
import { cancelled, childAbort } from './wait.js';

/**
 * How a wait in line ended: first in line (as of a committed state, at header's revision; the
 * caller confirms that its key still exists), or the participant's own key is gone.
 */
export type TurnOutcome =
  | { readonly kind: 'first'; readonly header: ResponseHeader }
  | { readonly kind: 'ownKeyDeleted' };

/** Where a participant stands: its key, the key's create revision, and a revision at which the key existed. */
export interface Place {
  readonly prefix: Uint8Array;
  readonly key: Uint8Array;
  readonly createRevision: number;
  /** A revision at which the key is known to exist (watches of it start here). */
  readonly seenAtRevision: number;
}

/** Marks a promise's rejection as handled (it is still observed by whoever awaits it). */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** Pauses between two looks after a passing failure: the first, and the most. */
const RETRY_PAUSE_MS_MIN = 50;
const RETRY_PAUSE_MS_MAX = 1000;

/** Failures that end a wait for good: the caller aborted, the member is stopping, a bad request. */
const FINAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.CANCELLED,
  ErrorCode.STOPPED,
  ErrorCode.INVALID_ARGUMENT,
  ErrorCode.MEMBER_REMOVED,
]);

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancelled());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      clearTimeout(timer);
      reject(cancelled());
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits until no key under the prefix was created before ours, or ours is deleted. Rejects
 * with CANCELLED when signal aborts, or with an error that ends the wait for good (see FINAL;
 * other failures of a read or watch are retried, see the header).
 */
export async function waitTurn(kv: CoordinationKv, place: Place, signal: AbortSignal): Promise<TurnOutcome> {
  let seenAtRevision = place.seenAtRevision;
  for (let failures = 0; ; failures++) {
    try {
      if (failures > 0) {
        // After a failure, make sure our key is still the one in line before looking again.
        const own = await kv.range({ key: place.key });
        if (own.kvs[0]?.createRevision !== place.createRevision) return { kind: 'ownKeyDeleted' };
        seenAtRevision = own.header.revision;
      }
      return await waitTurnOnce(kv, { ...place, seenAtRevision }, signal);
    } catch (err) {
      if (signal.aborted) throw cancelled();
      if (!(err instanceof CairnError) || FINAL.has(err.code)) throw err;
      await pause(Math.min(RETRY_PAUSE_MS_MAX, RETRY_PAUSE_MS_MIN * 2 ** Math.min(failures, 10)), signal);
    }
  }
}

async function waitTurnOnce(kv: CoordinationKv, place: Place, signal: AbortSignal): Promise<TurnOutcome> {
  const whole = childAbort(signal);
  try {
    const ownDeleted = quiet(
      kv.waitDelete(place.key, place.seenAtRevision, whole.controller.signal).then(() => 'own' as const),
    );
    for (;;) {
      // Serializable: "no key created before ours" seen in any committed state stays true for
      // as long as our key exists (create revisions only grow), so it needs no round to the
      // leader; whether our key still exists is for the caller to confirm (lock.ts). A stale
      // state that still shows a key ahead only means one more wait for its deletion.
      const r = await kv.range({
        ...lastCreatedBefore(place.prefix, place.createRevision - 1),
        serializable: true,
      });
      const ahead = r.kvs[0];
      if (!ahead) return { kind: 'first', header: r.header };
      const step = childAbort(whole.controller.signal);
      try {
        const aheadDeleted = quiet(
          kv.waitDelete(ahead.key, r.header.revision, step.controller.signal).then(() => 'ahead' as const),
        );
        if ((await Promise.race([aheadDeleted, ownDeleted])) === 'own') return { kind: 'ownKeyDeleted' };
      } finally {
        step.dispose();
      }
    }
  } finally {
    whole.dispose();
  }
}

/** Deletes the key if it is still the one created at createRevision (a failed waiter leaves the line). */
export async function leaveLine(kv: CoordinationKv, key: Uint8Array, createRevision: number): Promise<void> {
  await kv.txn({
    compare: [createRevisionIs(key, createRevision)],
    success: [{ requestDeleteRange: { key } }],
  });
}
