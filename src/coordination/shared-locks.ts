/**
 * A read-write lock and a counting semaphore on the Mutex's principles: every participant
 * puts one key with its lease, participants are ordered by create revision (first come,
 * first served), a participant whose key is deleted (lease gone) stops waiting with etcd's
 * session-expired error, and a waiter that gives up deletes its key. Key layouts:
 *
 *   read-write lock `<name>`:  `<name>/read-<lease hex>` and `<name>/write-<lease hex>`
 *     A reader holds once no write key was created before its own (readers share); a writer
 *     holds once no key at all was created before its own, so it waits for earlier readers
 *     and later readers wait for it (no writer starvation). Each waits only for the one key
 *     just ahead of it that matters (queue.ts, with the prefix `<name>/write-` for readers).
 *   semaphore `<name>` of n:   `<name>/sem-<lease hex>`
 *     A participant holds once fewer than n keys were created before its own. Every user of
 *     one semaphore must give the same n. A waiter re-counts on each delete under the prefix.
 *
 * The prefixes are not lease hex, so the Mutex queries (lock-queries.ts) do not list these
 * keys as exclusive locks, and etcd's recipes never mistake them for their own.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { EventType } from '../mvcc/index.js';
import { concatBytes, createRevisionIs, prefixRangeEnd } from './keys.js';
import { type HeldLock, sessionExpired } from './lock.js';
import type { CoordinationKv } from './ports.js';
import { leaveLine, waitTurn } from './queue.js';
import { cancelled, childAbort } from './wait.js';

const encoder = new TextEncoder();

/** Most holders a semaphore may allow. */
export const SEMAPHORE_LIMIT_MAX = 10_000;

/** Refuses a semaphore limit outside 1..SEMAPHORE_LIMIT_MAX (INVALID_ARGUMENT). */
export function checkSemaphoreLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > SEMAPHORE_LIMIT_MAX)
    throw new CairnError(
      ErrorCode.INVALID_ARGUMENT,
      `cairn: semaphore limit must be 1..${SEMAPHORE_LIMIT_MAX}`,
    );
}

/** The two kinds of read-write lock participant. */
export type RwMode = 'read' | 'write';

function prefixOf(name: Uint8Array, kind: string): Uint8Array {
  return concatBytes(name, encoder.encode(`/${kind}-`));
}

/** Puts the participant's key unless its lease already has one; its create revision and a revision it existed at. */
async function join(
  kv: CoordinationKv,
  key: Uint8Array,
  leaseId: number,
  value: Uint8Array,
): Promise<{ createRevision: number; seenAtRevision: number }> {
  const r = await kv.txn({
    compare: [createRevisionIs(key, 0)],
    success: [{ requestPut: { key, value, lease: leaseId } }],
    failure: [{ requestRange: { key } }],
  });
  if (r.succeeded) return { createRevision: r.header.revision, seenAtRevision: r.header.revision };
  const kvs = (r.responses[0] as { responseRange: { kvs: readonly { createRevision: number }[] } })
    .responseRange.kvs;
  return { createRevision: kvs[0]!.createRevision, seenAtRevision: r.header.revision };
}

/** The held lock once the key is confirmed to still exist (its lease survived the wait). */
async function confirm(
  kv: CoordinationKv,
  key: Uint8Array,
  createRevision: number,
  joinedAtRevision: number,
): Promise<HeldLock> {
  const check = await kv.range({ key });
  if (check.kvs[0]?.createRevision !== createRevision) throw sessionExpired();
  return { key, createRevision, header: check.header, confirmed: true, joinedAtRevision };
}

/** Takes a read-write lock in `mode`, waiting in line; aborting signal stops the wait and removes the key. */
export async function acquireRwLock(
  kv: CoordinationKv,
  name: Uint8Array,
  mode: RwMode,
  leaseId: number,
  signal: AbortSignal,
  value: Uint8Array,
): Promise<HeldLock> {
  const key = concatBytes(prefixOf(name, mode), encoder.encode(leaseId.toString(16)));
  const { createRevision, seenAtRevision } = await join(kv, key, leaseId, value);
  try {
    // Readers wait only for earlier writers; writers for every earlier participant.
    const ahead = mode === 'read' ? prefixOf(name, 'write') : concatBytes(name, encoder.encode('/'));
    const turn = await waitTurn(kv, { prefix: ahead, key, createRevision, seenAtRevision }, signal);
    if (turn.kind === 'ownKeyDeleted') throw sessionExpired();
    return await confirm(kv, key, createRevision, seenAtRevision);
  } catch (err) {
    await leaveLine(kv, key, createRevision).catch(() => {});
    throw err;
  }
}

/** Takes one of `limit` places of a semaphore, waiting in line; aborting signal stops the wait and removes the key. */
export async function acquireSemaphore(
  kv: CoordinationKv,
  name: Uint8Array,
  limit: number,
  leaseId: number,
  signal: AbortSignal,
  value: Uint8Array,
): Promise<HeldLock> {
  checkSemaphoreLimit(limit);
  const prefix = prefixOf(name, 'sem');
  const range = { key: prefix, rangeEnd: prefixRangeEnd(prefix) };
  const key = concatBytes(prefix, encoder.encode(leaseId.toString(16)));
  const { createRevision, seenAtRevision } = await join(kv, key, leaseId, value);
  const wait = childAbort(signal);
  try {
    for (;;) {
      const earlier = await kv.range({
        ...range,
        maxCreateRevision: createRevision - 1,
        limit,
        keysOnly: true,
      });
      const own = await kv.range({ key });
      if (own.kvs[0]?.createRevision !== createRevision) throw sessionExpired();
      if (earlier.kvs.length < limit)
        return { key, createRevision, header: own.header, confirmed: true, joinedAtRevision: seenAtRevision };
      // Any delete under the prefix may free a place (or be our own key): look again.
      for await (const batch of kv.watch(range, earlier.header.revision + 1, wait.controller.signal)) {
        if (batch.events.some((e) => e.type === EventType.Delete)) break;
      }
      if (wait.controller.signal.aborted) throw cancelled();
    }
  } catch (err) {
    await leaveLine(kv, key, createRevision).catch(() => {});
    throw err;
  } finally {
    wait.dispose();
  }
}
