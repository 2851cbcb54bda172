/**
 * The watch-guarantees checker: each watcher's events are compared with the full revision
 * history of the keys it watched (read at the end, from revision 1 or above the compaction
 * point). Per watcher, events must come strictly in revision order, with no duplicate, no
 * event the history does not hold (or with another value), and no gap: every change from the
 * watcher's start revision up to the end of the history must be delivered, which also proves
 * the watcher resumed after every member it was streaming from was killed.
 */
import type { CheckerReport } from './report.js';

/** One change of a key. */
export interface ChangeEvent {
  readonly revision: number;
  readonly key: string;
  readonly type: 'put' | 'delete';
  /** The value put ('' for a delete). */
  readonly value: string;
}

/** What one watcher delivered. */
export interface WatcherLog {
  readonly name: string;
  /** The revision it was asked to start from. */
  readonly startRevision: number;
  readonly events: readonly ChangeEvent[];
  /** How often its stream was opened again after a break. */
  readonly reconnects: number;
  /** Why it ended early, if it did. */
  readonly error?: string;
}

/** The watchers and the history they are judged against. */
export interface WatchHistory {
  readonly watchers: readonly WatcherLog[];
  /** Every change of the watched keys up to untilRevision, in revision order. */
  readonly history: readonly ChangeEvent[];
  /** The history is complete up to here; every watcher must have reached it. */
  readonly untilRevision: number;
  /** Events at or below this revision are gone (0: nothing compacted). */
  readonly compactRevision: number;
  /** Every member was killed while the watchers ran: each must have resumed at least once. */
  readonly everyMemberKilled?: boolean;
}

/** The verdict. */
export type WatchReport = CheckerReport;

const PER_WATCHER_SHOWN_MAX = 3;

const id = (e: ChangeEvent): string => `${e.revision}/${e.key}`;
const show = (e: ChangeEvent): string =>
  `${e.type} ${e.key}${e.type === 'put' ? `=${JSON.stringify(e.value)}` : ''} @${e.revision}`;

/** Checks one watcher against the history; its violations. */
function checkWatcher(w: WatcherLog, h: WatchHistory, byId: Map<string, ChangeEvent>): string[] {
  const out: string[] = [];
  const from = Math.max(w.startRevision, h.compactRevision + 1);
  const seen = new Set<string>();
  let prev: ChangeEvent | undefined;
  for (const e of w.events) {
    if (e.revision > h.untilRevision) continue;
    const k = id(e);
    if (seen.has(k)) out.push(`${w.name}: duplicate ${show(e)}`);
    else if (prev && (e.revision < prev.revision || (e.revision === prev.revision && e.key <= prev.key)))
      out.push(`${w.name}: out of order: ${show(e)} after ${show(prev)}`);
    const real = byId.get(k);
    if (!real) out.push(`${w.name}: ${show(e)} is not in the keys' history`);
    else if (real.type !== e.type || real.value !== e.value)
      out.push(`${w.name}: delivered ${show(e)} but the history has ${show(real)}`);
    if (e.revision < from) out.push(`${w.name}: ${show(e)} is before its start revision ${from}`);
    seen.add(k);
    prev = e;
  }
  const missed = h.history.filter((e) => e.revision >= from && !seen.has(id(e)));
  if (missed.length > 0) {
    const last = w.events.at(-1)?.revision ?? 0;
    const what = `${missed.length} event(s), first ${show(missed[0]!)}`;
    out.push(
      last < h.untilRevision
        ? `${w.name}: stopped at revision ${last} (history to ${h.untilRevision}${w.error ? `, ended with ${w.error}` : ''}), missed ${what}`
        : `${w.name}: gap: missed ${what}`,
    );
  }
  if (h.everyMemberKilled && w.reconnects === 0)
    out.push(`${w.name}: never resumed, although every member it could stream from was killed`);
  return out;
}

/** Checks every watcher. */
export function checkWatches(h: WatchHistory): WatchReport {
  const byId = new Map(h.history.map((e) => [id(e), e]));
  const violations: string[] = [];
  for (const w of h.watchers) violations.push(...checkWatcher(w, h, byId).slice(0, PER_WATCHER_SHOWN_MAX));
  const delivered = h.watchers.reduce((n, w) => n + w.events.length, 0);
  const reconnects = h.watchers.reduce((n, w) => n + w.reconnects, 0);
  const summary = `${h.watchers.length} watchers, ${delivered} events delivered, ${reconnects} resumptions, history ${h.history.length} events to revision ${h.untilRevision}${h.compactRevision > 0 ? ` (compacted at ${h.compactRevision})` : ''}`;
  return { ok: violations.length === 0, violations, summary };
}
