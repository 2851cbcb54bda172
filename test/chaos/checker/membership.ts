/**
 * The membership-convergence checker: instances registered, changed state and left during
 * the faults while subscribers kept live views. It checks that each subscriber's view only
 * moved forward in revision and never showed an instance in a state nobody asked for; and,
 * after healing, that every subscriber's final view equals the registry read directly, and
 * that the registry holds exactly the instances the registrars keep, in the state last asked.
 */
import { type CheckerReport, reportOf } from './report.js';

/** An instance as compared: id, state, address. */
export interface InstanceView {
  readonly id: string;
  readonly state: string;
  readonly address: string;
}

/** A subscriber's view at one moment. */
export interface ViewSnapshot {
  readonly subscriber: string;
  readonly revision: number;
  readonly atMs: number;
  readonly instances: readonly InstanceView[];
}

/** What the membership workload recorded. */
export interface MembershipHistory {
  /** Every (id, state, address) some registrar asked for. */
  readonly requested: readonly InstanceView[];
  /** Every view change every subscriber saw, in the order each saw them. */
  readonly changes: readonly ViewSnapshot[];
  /** Each subscriber's view at the end. */
  readonly finalViews: readonly ViewSnapshot[];
  /** A fresh List of the service after healing. */
  readonly registry: readonly InstanceView[];
  /** The instances the registrars hold registered at the end, in the state last asked for. */
  readonly expected: readonly InstanceView[];
}

/** The verdict. */
export type MembershipReport = CheckerReport;

const show = (i: InstanceView): string => `${i.id}:${i.state}@${i.address}`;

/** The difference between two instance lists ('' when equal). */
export function diffInstances(got: readonly InstanceView[], want: readonly InstanceView[]): string {
  const a = new Map(got.map((i) => [i.id, show(i)]));
  const b = new Map(want.map((i) => [i.id, show(i)]));
  const parts: string[] = [];
  for (const [id, s] of b) if (!a.has(id)) parts.push(`missing ${s}`);
  for (const [id, s] of a) if (!b.has(id)) parts.push(`extra ${s}`);
  for (const [id, s] of a) if (b.has(id) && b.get(id) !== s) parts.push(`${s} instead of ${b.get(id)}`);
  return parts.join(', ');
}

/** Checks a membership history. */
export function checkMembership(h: MembershipHistory): MembershipReport {
  const violations: string[] = [];
  const requested = new Set(h.requested.map(show));
  const lastRevision = new Map<string, number>();
  for (const c of h.changes) {
    const before = lastRevision.get(c.subscriber) ?? 0;
    if (c.revision < before)
      violations.push(
        `${c.subscriber}'s view went back from revision ${before} to ${c.revision} at ${c.atMs.toFixed(0)} ms`,
      );
    lastRevision.set(c.subscriber, c.revision);
    for (const i of c.instances)
      if (!requested.has(show(i)))
        violations.push(`${c.subscriber} saw ${show(i)} at revision ${c.revision}, which nobody registered`);
  }
  for (const v of h.finalViews) {
    const d = diffInstances(v.instances, h.registry);
    if (d !== '')
      violations.push(
        `${v.subscriber}'s final view (revision ${v.revision}) differs from the registry: ${d}`,
      );
  }
  const d = diffInstances(h.registry, h.expected);
  if (d !== '') violations.push(`the registry differs from what the registrars hold: ${d}`);
  const summary = `${h.finalViews.length} subscribers, ${h.changes.length} view changes, ${h.registry.length} instances at the end`;
  return reportOf(violations, summary);
}
