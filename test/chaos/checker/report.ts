/** The verdict every workload checker returns, and how it is cut down for printing. */

/** A checker's verdict: ok, the first violations found, and a one-line summary. */
export interface CheckerReport {
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly summary: string;
}

/** Violations a report shows; the count of all of them goes in its summary. */
export const VIOLATIONS_SHOWN_MAX = 5;

/** A report from every violation found (only the first VIOLATIONS_SHOWN_MAX are kept). */
export function reportOf(violations: readonly string[], summary: string): CheckerReport {
  return { ok: violations.length === 0, violations: violations.slice(0, VIOLATIONS_SHOWN_MAX), summary };
}
