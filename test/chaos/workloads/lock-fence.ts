/**
 * The lock workload: holders take one lock through Cairn's LockService (each acquire on a
 * lease of its own, 5 s TTL) and, holding it, write their fencing token to a fenced resource
 * kept in the harness, which refuses any token lower than the highest it accepted. A holder
 * writes only while it still holds the lock with lease time to spare (an honest write); now
 * and then one is made stale on purpose, as a paused process would be: it takes the lock on a
 * 2 s lease whose keep-alive then stops, sleeps past the TTL while the lock passes on, waits
 * until the resource has accepted a write with a newer token (so the stale write always tests
 * the fence), then writes with its old token. If no newer write comes within
 * SUCCESSOR_WAIT_MS although others were asking for the lock, the lock did not pass on: that
 * is recorded as a liveness finding.
 */
import type { Client } from '../../../src/client/index.js';
import { SimPrng } from '../../sim/prng.js';
import type { FencedWrite, FenceHistory, LockGrant } from '../checker/fence.js';
import { sleep } from '../cluster.js';

/** The lock every holder takes. */
export const FENCE_LOCK = 'chaos/fence-lock';

/** The lease TTL of an honest holder: long enough for keep-alives to get through a loaded machine's faults. */
const HONEST_TTL_SECONDS = 5;
/** The lease TTL of a holder made stale: short, so the lock passes on soon. */
const STALE_TTL_SECONDS = 2;
/** How long a stale holder waits for a newer holder's accepted write before writing anyway. */
export const SUCCESSOR_WAIT_MS = 15_000;

/** The protected resource: accepts a write only with a token at least the highest accepted. */
export class FencedResource {
  private highestToken = 0;
  readonly writes: FencedWrite[] = [];

  /** The highest token accepted so far. */
  get highest(): number {
    return this.highestToken;
  }

  /** Tries a write; whether it was accepted. */
  write(holder: string, token: number, kind: FencedWrite['kind']): boolean {
    const accepted = token >= this.highestToken;
    if (accepted) this.highestToken = token;
    this.writes.push({ holder, token, atMs: performance.now(), accepted, kind });
    return accepted;
  }
}

/** The lock workload's history and counters. */
export class LockRecorder {
  readonly grants: LockGrant[] = [];
  readonly resource = new FencedResource();
  acquireFailures = 0;
  /** Every acquire: who, whether made stale, when asked, when answered, how it ended (for the artifact). */
  readonly attempts: { holder: string; stale: boolean; invokeMs: number; endMs: number; outcome: string }[] =
    [];
  /** Why acquires failed, with how often. */
  readonly acquireErrors = new Map<string, number>();
  /** Honest holders that skipped their write: the lock was lost or the lease nearly out. */
  skipped = 0;
  /** When the workload began (performance.now()). */
  startedAtMs = 0;
  /** Holders inside client.lock() right now. */
  acquiring = 0;
  /** Stale holders waiting for a successor: the others keep asking until they are done, even after the load stops. */
  staleWaiting = 0;
  /** Holders acquiring as stale or holding stale (at most one: a stale successor never writes, so it could not pass the lock on). */
  staleActive = 0;
  /** Stale holders whose lock never passed on to a writer within SUCCESSOR_WAIT_MS while others asked. */
  readonly notPassedOn: { holder: string; token: number; fromMs: number; waitedMs: number }[] = [];
  /** Every change of the lock's keys as a watcher saw it (when seen, revision, put/delete, key, lease). */
  readonly keyEvents: { atMs: number; revision: number; type: string; key: string; lease: number }[] = [];

  /** The history for the checker. */
  history(): FenceHistory & {
    attempts: LockRecorder['attempts'];
    notPassedOn: LockRecorder['notPassedOn'];
    keyEvents: LockRecorder['keyEvents'];
  } {
    return {
      grants: this.grants,
      writes: this.resource.writes,
      attempts: this.attempts,
      notPassedOn: this.notPassedOn,
      keyEvents: this.keyEvents,
    };
  }
}

/** How the lock workload runs. */
export interface LockWorkloadOptions {
  readonly clients: readonly Client[];
  readonly holders: number;
  readonly seed: number;
  /** At most one holder is made stale per this many ms. */
  readonly staleEveryMs: number;
}

/** Runs the holders until shouldStop(). */
export async function runLockWorkload(
  opts: LockWorkloadOptions,
  rec: LockRecorder,
  shouldStop: () => boolean,
): Promise<void> {
  const root = new SimPrng(opts.seed ^ 0x10c4);
  rec.startedAtMs = performance.now();
  let nextStaleAtMs = performance.now() + opts.staleEveryMs / 2;
  const holder = async (n: number): Promise<void> => {
    const rng = root.fork();
    const client = opts.clients[n % opts.clients.length]!;
    const name = `h${n}`;
    // After the load stops, holders go on asking while a stale holder still waits for a
    // successor: otherwise a stale lease near the end would find no one left to pass the lock on to.
    while (!shouldStop() || rec.staleWaiting > 0) {
      // One holder at a time is made stale (never once the load stopped); it takes the lock on
      // a short lease that soon runs out. Never two at once: a stale holder in line behind
      // another would be the successor that never writes (soak seed 9017).
      const stale = !shouldStop() && rec.staleActive === 0 && performance.now() >= nextStaleAtMs;
      if (stale) {
        nextStaleAtMs = performance.now() + opts.staleEveryMs;
        rec.staleActive++;
      }
      const invokeMs = performance.now();
      let handle: Awaited<ReturnType<Client['lock']>>;
      try {
        const ttlSeconds = stale ? STALE_TTL_SECONDS : HONEST_TTL_SECONDS;
        rec.acquiring++;
        handle = await client
          .lock(FENCE_LOCK, { ttlSeconds, waitTimeoutMs: 10_000, owner: name })
          .finally(() => {
            rec.acquiring--;
          });
      } catch (err) {
        if (stale) {
          // No stale holder came of it: the next acquire may try again.
          nextStaleAtMs = 0;
          rec.staleActive--;
        }
        rec.acquireFailures++;
        const why = (err as Error).message.slice(0, 80);
        rec.attempts.push({ holder: name, stale, invokeMs, endMs: performance.now(), outcome: why });
        rec.acquireErrors.set(why, (rec.acquireErrors.get(why) ?? 0) + 1);
        await sleep(50 + rng.nextInt(100));
        continue;
      }
      const token = handle.fencingToken;
      rec.attempts.push({
        holder: name,
        stale,
        invokeMs,
        endMs: performance.now(),
        outcome: `token ${token}`,
      });
      rec.grants.push({ holder: name, token, invokeMs, returnMs: performance.now() });
      if (stale) {
        // As if paused: no more keep-alives, and the write comes after the lease ran out.
        handle.lease.release();
        rec.staleWaiting++;
        try {
          await sleep(handle.lease.ttlSeconds * 1000 + 2500);
          await awaitSuccessor(rec, name, token);
          rec.resource.write(name, token, 'stale');
        } finally {
          rec.staleWaiting--;
          rec.staleActive--;
        }
      } else {
        await sleep(rng.nextInt(20));
        // Checked and written in one synchronous step: nothing can run in between.
        if (handle.isHeld && handle.lease.remainingMs > 300) rec.resource.write(name, token, 'honest');
        else rec.skipped++;
      }
      await handle.release({ deadlineMs: 3000 }).catch(() => undefined);
      await sleep(rng.nextInt(30));
    }
  };
  const keys = recordKeyEvents(opts.clients[0]!, rec);
  try {
    await Promise.all(Array.from({ length: opts.holders }, (_, n) => holder(n)));
  } finally {
    keys.close();
  }
}

/**
 * Waits (up to SUCCESSOR_WAIT_MS) until the resource accepted a token newer than the stale
 * holder's; records a liveness finding if none came although another holder was asking.
 */
async function awaitSuccessor(rec: LockRecorder, holder: string, token: number): Promise<void> {
  const fromMs = performance.now();
  let othersAsked = false;
  while (rec.resource.highest <= token) {
    if (performance.now() - fromMs >= SUCCESSOR_WAIT_MS) {
      if (othersAsked) rec.notPassedOn.push({ holder, token, fromMs, waitedMs: performance.now() - fromMs });
      return;
    }
    if (rec.acquiring > 0) othersAsked = true;
    await sleep(50);
  }
}

/** Records every change of the lock's keys (for the artifact: who stood in line, and when keys went). */
function recordKeyEvents(client: Client, rec: LockRecorder): { close: () => void } {
  const watcher = client.watch(`${FENCE_LOCK}/`, { prefix: true, startRevision: 1 });
  void (async () => {
    try {
      for await (const e of watcher)
        rec.keyEvents.push({
          atMs: performance.now(),
          revision: e.kv.modRevision,
          type: e.type,
          key: e.kv.key.toString(),
          lease: e.kv.lease,
        });
    } catch (err) {
      rec.keyEvents.push({
        atMs: performance.now(),
        revision: 0,
        type: `watch failed: ${(err as Error).message}`,
        key: '',
        lease: 0,
      });
    }
  })();
  return { close: () => watcher.close() };
}
