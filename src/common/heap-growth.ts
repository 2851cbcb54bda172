/**
 * How far a member's V8 old generation may grow past what its last mark-compact kept. Left to
 * itself V8 lets a busy process's old generation grow to up to four times what is live before
 * it collects, and keeps the pages it grew into. A member caps it at twice what is live: Go's
 * default (GOGC=100), which etcd runs with.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's flag for the growth, in percent of what the last mark-compact kept. */
const HEAP_GROWING_FLAG = '--heap-growing-percent';
/** Twice what is live. */
const HEAP_GROWING_PERCENT = 100;

/** The operator's own growth, as a node flag (V8 takes dashes or underscores). */
const CHOSEN = /^--heap[-_]growing[-_]percent(=|$)/;

/** The flag to set, or undefined when the operator chose a growth of their own (a node flag or NODE_OPTIONS). */
export function heapGrowthFlag(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | undefined {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return given.some((a) => CHOSEN.test(a)) ? undefined : `${HEAP_GROWING_FLAG}=${HEAP_GROWING_PERCENT}`;
}

/**
 * Caps the growth for the rest of the process's life. Called once the member serves: loading
 * the state at start-up grows the heap from nothing, where a lower cap only adds mark-compacts.
 */
export function capHeapGrowth(): void {
  const flag = heapGrowthFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (flag !== undefined) setFlagsFromString(flag);
}
