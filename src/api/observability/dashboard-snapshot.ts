/**
 * The JSON snapshot the dashboard receives every second: members (this member's own status
 * and what each peer said of itself over its peer URL), services and their instances, locks
 * with holder, fencing token and line, transactions in flight and recent decisions, and
 * the traffic series. Every list is bounded; the page escapes every string it shows.
 */
import type { MemberInfo } from '../cluster-info.js';
import type { CoordinationView } from './coordination-view.js';
import type { PeerProbe, PeerStatus } from './peer-status.js';
import type { SeriesPoint } from './recent-series.js';

/** Most services, instances per service, locks, waiters per lock and transactions shown. */
export const DASHBOARD_LIMITS = {
  services: 200,
  instancesPerService: 100,
  locks: 200,
  waitersPerLock: 20,
  transactionsInFlight: 200,
  recentDecisions: 50,
} as const;

/** How old a peer's answer may be before the member counts as unhealthy. */
const PEER_ANSWER_STALE_MS = 3_000;

/** What the snapshot is built from. */
export interface DashboardSource {
  readonly selfId: number;
  members(): readonly MemberInfo[];
  /** This member's own status (the same fields a peer's Status carries). */
  selfStatus(): PeerStatus;
  peers(): readonly PeerProbe[];
  coordination(): CoordinationView;
  series(): readonly SeriesPoint[];
}

/** One member's row. */
export interface MemberRow {
  readonly id: string;
  readonly name: string;
  readonly self: boolean;
  readonly role: 'leader' | 'follower' | 'learner' | 'unknown';
  readonly healthy: boolean;
  readonly term?: number;
  readonly commitIndex?: number;
  readonly appliedIndex?: number;
  readonly dbSizeBytes?: number;
  readonly rttMs?: number;
  readonly error?: string;
  readonly clientUrls: readonly string[];
}

/** The whole snapshot. */
export interface DashboardSnapshot {
  readonly atUnixMs: number;
  readonly selfId: string;
  readonly leader: { readonly id: string; readonly name: string } | null;
  readonly revision: number;
  readonly members: readonly MemberRow[];
  readonly services: readonly {
    readonly service: string;
    readonly instances: readonly {
      readonly instanceId: string;
      readonly address: string;
      readonly weight: number;
      readonly zone: string;
      readonly state: string;
      readonly inFlight: number | null;
      readonly cpuUtilization: number | null;
      readonly lease: string;
    }[];
    readonly moreInstances: number;
  }[];
  readonly locks: readonly {
    readonly name: string;
    readonly holder: { readonly owner: string; readonly lease: string; readonly fencingToken: number };
    readonly waiters: readonly {
      readonly owner: string;
      readonly lease: string;
      readonly fencingToken: number;
    }[];
    readonly moreWaiters: number;
  }[];
  readonly transactions: {
    readonly inFlight: readonly {
      readonly id: string;
      readonly participants: readonly string[];
      readonly votes: Readonly<Record<string, string>>;
      readonly beganUnixMs: number;
      readonly deadlineUnixMs: number;
    }[];
    readonly recent: readonly {
      readonly id: string;
      readonly state: string;
      readonly reason: string;
      readonly participants: readonly string[];
      readonly acks: readonly string[];
      readonly decidedUnixMs: number;
    }[];
  };
  readonly series: readonly SeriesPoint[];
  /** Whether some list was cut to its bound, or the key scan stopped early. */
  readonly truncated: boolean;
}

function hex(id: number): string {
  return id.toString(16);
}

function roleOf(id: number, status: PeerStatus, isLearner: boolean): MemberRow['role'] {
  if (isLearner || status.isLearner) return 'learner';
  return status.leader === id ? 'leader' : 'follower';
}

/** Builds the snapshot now. */
export function dashboardSnapshot(source: DashboardSource, nowUnixMs: number): DashboardSnapshot {
  const own = source.selfStatus();
  const probes = new Map(source.peers().map((p) => [p.id, p]));
  const listed = source.members();
  const nameOf = (id: number): string => listed.find((m) => m.id === id)?.name || hex(id);
  const members: MemberRow[] = listed.map((m) => {
    const base = { id: hex(m.id), name: m.name || hex(m.id), clientUrls: m.clientUrls };
    if (m.id === source.selfId) {
      return {
        ...base,
        self: true,
        role: roleOf(m.id, own, m.isLearner),
        healthy: own.leader !== 0,
        term: own.term,
        commitIndex: own.commitIndex,
        appliedIndex: own.appliedIndex,
        dbSizeBytes: own.dbSizeBytes,
      };
    }
    const p = probes.get(m.id);
    if (!p?.status) {
      return { ...base, self: false, role: 'unknown', healthy: false, error: p?.error ?? 'no answer yet' };
    }
    const s = p.status;
    return {
      ...base,
      self: false,
      role: roleOf(m.id, s, m.isLearner),
      healthy: s.leader !== 0 && nowUnixMs - p.atUnixMs <= PEER_ANSWER_STALE_MS && p.error === undefined,
      term: s.term,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      dbSizeBytes: s.dbSizeBytes,
      ...(p.rttSeconds !== undefined ? { rttMs: p.rttSeconds * 1000 } : {}),
      ...(p.error !== undefined ? { error: p.error } : {}),
    };
  });

  const view = source.coordination();
  let truncated = view.truncated;
  const byService = new Map<string, (typeof view.instances)[number][]>();
  for (const i of view.instances) {
    const list = byService.get(i.service) ?? [];
    list.push(i);
    byService.set(i.service, list);
  }
  const serviceNames = [...byService.keys()].sort();
  if (serviceNames.length > DASHBOARD_LIMITS.services) truncated = true;
  const services = serviceNames.slice(0, DASHBOARD_LIMITS.services).map((service) => {
    const all = byService.get(service)!.sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));
    return {
      service,
      instances: all.slice(0, DASHBOARD_LIMITS.instancesPerService).map((i) => ({
        instanceId: i.instanceId,
        address: i.address,
        weight: i.weight,
        zone: i.zone,
        state: i.state,
        inFlight: i.load?.inFlight ?? null,
        cpuUtilization: i.load?.cpuUtilization ?? null,
        lease: hex(i.lease),
      })),
      moreInstances: Math.max(0, all.length - DASHBOARD_LIMITS.instancesPerService),
    };
  });
  if (view.locks.length > DASHBOARD_LIMITS.locks) truncated = true;
  const participant = (p: { owner: string; leaseId: number; fencingToken: number }) => ({
    owner: p.owner,
    lease: hex(p.leaseId),
    fencingToken: p.fencingToken,
  });
  const locks = view.locks.slice(0, DASHBOARD_LIMITS.locks).map((l) => ({
    name: l.name,
    holder: participant(l.holder),
    waiters: l.waiters.slice(0, DASHBOARD_LIMITS.waitersPerLock).map(participant),
    moreWaiters: Math.max(0, l.waiters.length - DASHBOARD_LIMITS.waitersPerLock),
  }));
  const records = view.transactions.map((t) => t.record);
  const preparing = records
    .filter((r) => r.state === 'PREPARING')
    .sort((a, b) => a.beganUnixMs - b.beganUnixMs);
  const decided = records
    .filter((r) => r.state !== 'PREPARING')
    .sort((a, b) => b.decidedUnixMs - a.decidedUnixMs);
  if (preparing.length > DASHBOARD_LIMITS.transactionsInFlight) truncated = true;
  const leaderId = own.leader;
  return {
    atUnixMs: nowUnixMs,
    selfId: hex(source.selfId),
    leader: leaderId === 0 ? null : { id: hex(leaderId), name: nameOf(leaderId) },
    revision: view.revision,
    members,
    services,
    locks,
    transactions: {
      inFlight: preparing.slice(0, DASHBOARD_LIMITS.transactionsInFlight).map((r) => ({
        id: r.id,
        participants: r.participants,
        votes: r.votes,
        beganUnixMs: r.beganUnixMs,
        deadlineUnixMs: r.deadlineUnixMs,
      })),
      recent: decided.slice(0, DASHBOARD_LIMITS.recentDecisions).map((r) => ({
        id: r.id,
        state: r.state,
        reason: r.reason,
        participants: r.participants,
        acks: r.acks,
        decidedUnixMs: r.decidedUnixMs,
      })),
    },
    series: source.series(),
    truncated,
  };
}
