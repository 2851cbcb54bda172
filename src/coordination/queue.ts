/**
 * The waiting line both recipes share. Participants of one name are ordered by the create
 * revisions of their keys; a participant waits only for the one key just ahead of its own
 * (created last before it) to be deleted, then looks again, so a release wakes exactly one
 * waiter (no herd). It also watches its own key, and stops waiting at once if that key is
 * deleted (its lease expired or was revoked, or someone deleted it).
 */
import type { ResponseHeader } from '../mvcc/index.js';
import { createRevisionIs, lastCreatedBefore } from './keys.js';
import type { CoordinationKv } from './ports.js';
import { childAbort } from './wait.js';

/** How a wait in line ended: first in line, or the participant's own key is gone. */
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

/**
 * Waits until no key under the prefix was created before ours, or ours is deleted. Rejects
 * with CANCELLED when signal aborts, or with the error a read or watch failed with.
 */
export async function waitTurn(kv: CoordinationKv, place: Place, signal: AbortSignal): Promise<TurnOutcome> {
  const whole = childAbort(signal);
  try {
    const ownDeleted = quiet(
      kv.waitDelete(place.key, place.seenAtRevision, whole.controller.signal).then(() => 'own' as const),
    );
    for (;;) {
      const r = await kv.range(lastCreatedBefore(place.prefix, place.createRevision - 1));
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
