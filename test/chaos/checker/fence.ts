/**
 * The lock-safety checker: lock holders write to a fenced resource (one that refuses a token
 * lower than the highest it accepted) and the history of grants and writes is judged. Safe
 * means: accepted writes never go back in token order; a token is granted once; a grant that
 * began after another returned has a larger token; a holder that wrote while its lease was
 * still valid (an honest write) is never refused, since refusing it means a later holder got
 * the lock and wrote while this one still held it. It also proves the fence was exercised:
 * holders made stale on purpose (their lease left to run out before they write) must have
 * been refused at least once.
 */
import { type CheckerReport, VIOLATIONS_SHOWN_MAX } from './report.js';

/** One lock grant as the client saw it (acquire invoked, acquire answered). */
export interface LockGrant {
  readonly holder: string;
  readonly token: number;
  readonly invokeMs: number;
  readonly returnMs: number;
}

/** One write to the fenced resource, in the order the resource answered them. */
export interface FencedWrite {
  readonly holder: string;
  readonly token: number;
  readonly atMs: number;
  readonly accepted: boolean;
  /** honest: the holder still held the lock with lease time to spare; stale: its lease was left to run out. */
  readonly kind: 'honest' | 'stale';
}

/** What the lock workload recorded. */
export interface FenceHistory {
  readonly grants: readonly LockGrant[];
  /** In the resource's order (the order it decided them in). */
  readonly writes: readonly FencedWrite[];
}

/** The verdict. */
export interface FenceReport extends CheckerReport {
  /** Whether some stale holder was refused (the fence did its job at least once). */
  readonly exercised: boolean;
  /** Whether any safety violation was found (ok can be false for an unexercised fence alone). */
  readonly unsafe: boolean;
  readonly grants: number;
  readonly accepted: number;
  readonly staleRejected: number;
  readonly staleAccepted: number;
}

/** Checks a fence history; requireExercised: fail when no stale write was refused. */
export function checkFence(h: FenceHistory, opts: { requireExercised?: boolean } = {}): FenceReport {
  const violations: string[] = [];
  const grantsByToken = new Map<number, LockGrant>();
  for (const g of h.grants) {
    const other = grantsByToken.get(g.token);
    if (other)
      violations.push(
        `token ${g.token} granted twice: to ${other.holder} at ${other.returnMs.toFixed(0)} ms and to ${g.holder} at ${g.returnMs.toFixed(0)} ms`,
      );
    else grantsByToken.set(g.token, g);
  }
  // Real-time order: a grant invoked after another returned must carry a larger token.
  const byReturn = [...h.grants].sort((a, b) => a.returnMs - b.returnMs);
  const byInvoke = [...h.grants].sort((a, b) => a.invokeMs - b.invokeMs);
  let i = 0;
  let maxReturned: LockGrant | undefined;
  for (const b of byInvoke) {
    while (i < byReturn.length && byReturn[i]!.returnMs < b.invokeMs) {
      const a = byReturn[i++]!;
      if (!maxReturned || a.token > maxReturned.token) maxReturned = a;
    }
    if (maxReturned && b.token <= maxReturned.token && b !== maxReturned)
      violations.push(
        `grant out of order: ${b.holder} asked at ${b.invokeMs.toFixed(0)} ms, after ${maxReturned.holder}'s grant of token ${maxReturned.token} returned, and got the lower token ${b.token}`,
      );
  }
  let highest = 0;
  let highestBy = '';
  let accepted = 0;
  let staleRejected = 0;
  let staleAccepted = 0;
  for (const w of h.writes) {
    const g = grantsByToken.get(w.token);
    if (!g || g.holder !== w.holder)
      violations.push(`write by ${w.holder} with token ${w.token}, which was never granted to it`);
    if (w.accepted) {
      accepted++;
      if (w.kind === 'stale') staleAccepted++;
      if (w.token < highest)
        violations.push(
          `older token accepted after a newer one: ${w.holder}'s token ${w.token} accepted at ${w.atMs.toFixed(0)} ms after ${highestBy}'s token ${highest}`,
        );
      else if (w.token === highest && w.holder !== highestBy)
        violations.push(`two holders wrote with token ${w.token}: ${highestBy} and ${w.holder}`);
      if (w.token >= highest) {
        highest = w.token;
        highestBy = w.holder;
      }
    } else {
      if (w.kind === 'stale') staleRejected++;
      if (w.token >= highest)
        violations.push(
          `the resource refused ${w.holder}'s token ${w.token} at ${w.atMs.toFixed(0)} ms although the highest it had accepted was ${highest}`,
        );
      else if (w.kind === 'honest')
        violations.push(
          `mutual exclusion broken: ${w.holder} still held the lock (token ${w.token}, lease valid) at ${w.atMs.toFixed(0)} ms, but ${highestBy} had already written with the later token ${highest}`,
        );
    }
  }
  const unsafe = violations.length > 0;
  if ((opts.requireExercised ?? true) && staleRejected === 0)
    violations.push('fence never exercised: no stale holder wrote after a later holder and was refused');
  const summary = `grants ${h.grants.length}, writes accepted ${accepted}, stale writes refused ${staleRejected} (accepted ${staleAccepted})`;
  return {
    ok: violations.length === 0,
    violations: violations.slice(0, VIOLATIONS_SHOWN_MAX),
    exercised: staleRejected > 0,
    unsafe,
    grants: h.grants.length,
    accepted,
    staleRejected,
    staleAccepted,
    summary,
  };
}
