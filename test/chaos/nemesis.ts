/**
 * The seeded nemesis: from a seed it plans a schedule of faults (kind, quiet time before,
 * duration, which members, a size), the same schedule for the same seed and fault set,
 * then plays it against a chaos cluster one fault at a time: SIGKILL and restart of a
 * random member or of the leader, SIGSTOP/SIGCONT of the leader, partitions through the
 * pair proxies (majority/minority, isolated leader, bridge), a one-way partition (one
 * member's messages to all others are lost, theirs still arrive), latency with jitter on
 * one member's links, a slow disk (a delay before every synced write) on one member, a
 * jump of the leader's wall clock by minutes, and a membership change under load (add a
 * spare as learner and promote it, or remove a member while more than the founding count
 * vote). Which member leads is found at run time, so the member a leader fault hits can
 * differ between runs of one seed; the plan cannot. Every fault and heal is logged.
 */
import { SimPrng } from '../sim/prng.js';
import { type ChaosCluster, sleep } from './cluster.js';

/** The kinds of fault. */
export const FAULT_KINDS = [
  'kill-random',
  'kill-leader',
  'pause-leader',
  'partition-random',
  'partition-leader',
  'partition-bridge',
  'partition-one-way',
  'latency',
  'slow-disk',
  'clock-jump',
  'membership',
] as const;

/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The fault groups a run can select (--faults): each names one or more kinds. */
export const FAULT_GROUPS: Readonly<Record<string, readonly FaultKind[]>> = {
  kill: ['kill-random', 'kill-leader'],
  pause: ['pause-leader'],
  partition: ['partition-random', 'partition-leader', 'partition-bridge'],
  'one-way': ['partition-one-way'],
  latency: ['latency'],
  'slow-disk': ['slow-disk'],
  clock: ['clock-jump'],
  membership: ['membership'],
};

/**
 * The kinds a --faults list selects: comma-separated groups, `all`, and `-group` to leave
 * one out (`all,-membership`); throws on an unknown group or an empty selection.
 */
export function parseFaults(spec: string): FaultKind[] {
  const chosen = new Set<FaultKind>();
  for (const raw of spec
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')) {
    const drop = raw.startsWith('-');
    const name = drop ? raw.slice(1) : raw;
    const kinds = name === 'all' ? FAULT_KINDS : FAULT_GROUPS[name];
    if (!kinds)
      throw new Error(`unknown fault group ${name} (groups: all, ${Object.keys(FAULT_GROUPS).join(', ')})`);
    for (const k of kinds) drop ? chosen.delete(k) : chosen.add(k);
  }
  if (chosen.size === 0) throw new Error(`no fault selected by "${spec}"`);
  return FAULT_KINDS.filter((k) => chosen.has(k));
}

/** One planned fault. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly quietMs: number;
  readonly durationMs: number;
  /** A permutation of member indexes: who is picked, how a partition splits. */
  readonly order: readonly number[];
  /** A number in [0, 1) that sizes the fault: a delay, a latency, a clock jump. */
  readonly scale: number;
}

/** One thing the nemesis did, for the run's log. */
export interface FaultEvent {
  readonly atMs: number;
  readonly kind: FaultKind | 'heal';
  readonly detail: string;
}

/**
 * The plan for a seed: `count` faults of the given kinds over at most `size` members (a
 * permutation of `size` indexes; indexes past the current member count are skipped). Pure:
 * same input, same plan.
 */
export function planFaults(
  seed: number,
  count: number,
  size: number,
  kinds: readonly FaultKind[] = FAULT_KINDS,
): PlannedFault[] {
  const rng = new SimPrng(seed ^ 0x6e656d65);
  const plan: PlannedFault[] = [];
  for (let i = 0; i < count; i++) {
    const order = Array.from({ length: size }, (_, j) => j);
    for (let j = size - 1; j > 0; j--) {
      const k = rng.nextInt(j + 1);
      [order[j], order[k]] = [order[k]!, order[j]!];
    }
    plan.push({
      kind: rng.pick(kinds),
      quietMs: 1000 + rng.nextInt(2000),
      durationMs: 1500 + rng.nextInt(3500),
      order,
      scale: rng.nextInt(1_000_000) / 1_000_000,
    });
  }
  return plan;
}

/** Plays a plan against a cluster until it ends or `shouldStop()`; heals after every fault. */
export class Nemesis {
  readonly events: FaultEvent[] = [];
  /** Faults actually injected. */
  injected = 0;
  private readonly t0 = performance.now();

  /** Membership changes made, and those skipped or failed (with why). */
  membershipChanges = 0;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly plan: readonly PlannedFault[],
    private readonly log: (line: string) => void = () => {},
    /** The members that founded the cluster: removals never leave fewer voters. */
    private readonly votersMin = 3,
  ) {}

  private note(kind: FaultKind | 'heal', detail: string): void {
    const e = { atMs: performance.now() - this.t0, kind, detail };
    this.events.push(e);
    this.log(`  [nemesis ${(e.atMs / 1000).toFixed(1)}s] ${kind} ${detail}`);
  }

  /** Runs the plan; returns when it is done or shouldStop() holds (after healing). */
  async run(shouldStop: () => boolean): Promise<void> {
    for (const f of this.plan) {
      if (!(await this.wait(f.quietMs, shouldStop))) return;
      const heal = await this.inject(f);
      try {
        await this.wait(f.durationMs, shouldStop);
      } finally {
        await heal();
      }
    }
  }

  /** Sleeps up to ms in small steps; false if asked to stop. */
  private async wait(ms: number, shouldStop: () => boolean): Promise<boolean> {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      if (shouldStop()) return false;
      await sleep(Math.min(100, until - performance.now()));
    }
    return !shouldStop();
  }

  private async leaderOr(fallback: string): Promise<string> {
    return (await this.cluster.leader()) ?? fallback;
  }

  /** Injects one fault; returns how to heal it. */
  private async inject(f: PlannedFault): Promise<() => Promise<void>> {
    const c = this.cluster;
    const current = c.names;
    const names = f.order.filter((i) => i < current.length).map((i) => current[i]!);
    const first = names[0]!;
    this.injected++;
    switch (f.kind) {
      case 'kill-random':
      case 'kill-leader': {
        const victim = f.kind === 'kill-leader' ? await this.leaderOr(first) : first;
        this.note(f.kind, `SIGKILL ${victim} for ${f.durationMs} ms`);
        await c.kill(victim);
        return async () => {
          c.startMember(victim);
          this.note('heal', `restart ${victim}`);
        };
      }
      case 'pause-leader': {
        const victim = await this.leaderOr(first);
        this.note(f.kind, `SIGSTOP ${victim} for ${f.durationMs} ms`);
        c.pause(victim);
        return async () => {
          c.resume(victim);
          this.note('heal', `SIGCONT ${victim}`);
        };
      }
      case 'partition-random':
      case 'partition-leader':
      case 'partition-bridge': {
        let a: string[];
        let b: string[];
        if (f.kind === 'partition-leader') {
          const leader = await this.leaderOr(first);
          a = [leader];
          b = c.names.filter((n) => n !== leader);
        } else if (f.kind === 'partition-random') {
          const minority = Math.floor((names.length - 1) / 2);
          a = names.slice(0, minority);
          b = names.slice(minority);
        } else {
          // Two sides that only the middle member sees both of.
          const side = Math.floor((names.length - 1) / 2);
          a = names.slice(0, side);
          b = names.slice(side + 1);
        }
        const bridge =
          f.kind === 'partition-bridge' ? ` (bridge ${names[Math.floor((names.length - 1) / 2)]})` : '';
        this.note(f.kind, `{${a.join(',')}} | {${b.join(',')}}${bridge} for ${f.durationMs} ms`);
        c.network.cut(a, b);
        return async () => {
          c.network.healAll();
          this.note('heal', 'network');
        };
      }
      case 'partition-one-way': {
        // Half the time the leader (it keeps hearing the others but they no longer hear it).
        const from = f.scale < 0.5 ? await this.leaderOr(first) : first;
        const to = c.names.filter((n) => n !== from);
        this.note(f.kind, `${from} -> {${to.join(',')}} lost, the other way works, for ${f.durationMs} ms`);
        c.network.cutOneWay(from, to);
        return async () => {
          c.network.healAll();
          this.note('heal', 'network');
        };
      }
      case 'latency': {
        const latencyMs = 10 + Math.floor(f.scale * 190);
        const jitterMs = Math.floor(latencyMs / 2);
        this.note(
          f.kind,
          `${first}'s links +${latencyMs} ms (jitter ${jitterMs} ms) each way for ${f.durationMs} ms`,
        );
        c.network.slowMember(first, latencyMs, jitterMs);
        return async () => {
          c.network.healAll();
          this.note('heal', 'network');
        };
      }
      case 'slow-disk': {
        const delayMs = 50 + Math.floor(f.scale * 350);
        this.note(f.kind, `${first} waits ${delayMs} ms before every synced write for ${f.durationMs} ms`);
        c.setSyncDelay(first, delayMs);
        return async () => {
          c.setSyncDelay(first, 0);
          this.note('heal', `disk of ${first}`);
        };
      }
      case 'clock-jump': {
        // One to ten minutes, forwards or backwards, on the member that keeps the leases.
        const minutes = 1 + Math.floor((f.scale * 20) % 10);
        const offsetMs = (f.scale < 0.5 ? -1 : 1) * minutes * 60_000;
        const victim = await this.leaderOr(first);
        this.note(
          f.kind,
          `${victim}'s wall clock ${offsetMs > 0 ? '+' : ''}${offsetMs / 60_000} min for ${f.durationMs} ms`,
        );
        c.setClockOffset(victim, offsetMs);
        return async () => {
          c.setClockOffset(victim, 0);
          this.note('heal', `clock of ${victim} (jumps back)`);
        };
      }
      case 'membership':
        await this.changeMembership(f);
        return async () => {};
    }
  }

  /**
   * One membership step: promote a learner left by an earlier step; else remove a member
   * (picked by the plan, maybe the leader) when more than votersMin vote and every other
   * voter answers; else add a spare as a learner, start it, and promote it once it has
   * caught up (within the fault's duration). A refused step is logged and skipped.
   */
  private async changeMembership(f: PlannedFault): Promise<void> {
    const c = this.cluster;
    try {
      const list = await c.memberList(3000);
      const nameOf = (peerUrl: string): string | undefined =>
        [...c.names, ...c.spareNames].find((n) => c.member(n).peerUrl === peerUrl);
      const learner = list.find((m) => m.isLearner);
      const voters = list.filter((m) => !m.isLearner);
      if (learner) {
        await this.promoteWhenReady(nameOf(learner.peerUrl) ?? '?', learner.id, f.durationMs);
        return;
      }
      if (voters.length > this.votersMin) {
        const byOrder = f.order.map((i) => c.names[i]).filter((n): n is string => n !== undefined);
        const victimName = [...byOrder, ...c.names].find((n) => voters.some((v) => nameOf(v.peerUrl) === n))!;
        const victim = voters.find((v) => nameOf(v.peerUrl) === victimName)!;
        const others = c.names.filter((n) => n !== victimName);
        // A member may still be restarting after an earlier fault: wait a while for it.
        let healthy = await Promise.all(others.map((n) => c.status(n, 1000)));
        const until = performance.now() + Math.max(f.durationMs, 10_000);
        while (healthy.some((s) => s === undefined) && performance.now() < until) {
          await sleep(500);
          healthy = await Promise.all(others.map((n) => c.status(n, 1000)));
        }
        if (healthy.some((s) => s === undefined)) {
          this.note('membership', `skip removing ${victimName}: not every other member answers`);
          return;
        }
        this.note(
          'membership',
          `MemberRemove ${victimName} (${victim.id.toString(16)}), ${voters.length - 1} voters left`,
        );
        await c.removeMember(victimName, victim.id, 10_000);
        this.membershipChanges++;
        return;
      }
      const spare = c.spareNames[0];
      if (spare === undefined) {
        this.note('membership', 'skip: no spare member to add');
        return;
      }
      this.note('membership', `MemberAdd ${spare} as learner and start it`);
      const id = await c.addLearner(spare, 10_000);
      this.membershipChanges++;
      await this.promoteWhenReady(spare, id, f.durationMs);
    } catch (err) {
      this.note('membership', `failed: ${(err as Error).message}`);
    }
  }

  /** Promotes a learner, retrying while it catches up, for up to waitMs (at least 20 s: it starts from source). */
  private async promoteWhenReady(name: string, id: number, waitMs: number): Promise<void> {
    const until = performance.now() + Math.max(waitMs, 20_000);
    let last = '';
    while (performance.now() < until) {
      try {
        await this.cluster.promote(id, 3000);
        this.membershipChanges++;
        this.note('membership', `MemberPromote ${name} (${id.toString(16)}): a voter now`);
        return;
      } catch (err) {
        last = (err as Error).message;
        // A promote whose answer was lost (a deadline) may have been applied all the same.
        const now = await this.cluster.memberList(3000).catch(() => []);
        if (now.some((m) => m.id === id && !m.isLearner)) {
          this.membershipChanges++;
          this.note('membership', `${name} (${id.toString(16)}) is a voter now (promote answered: ${last})`);
          return;
        }
        await sleep(500);
      }
    }
    this.note('membership', `${name} stays a learner for now (${last})`);
  }
}
