/**
 * The seeded nemesis: from a seed it plans a schedule of faults (kind, quiet time before,
 * duration, which members), the same schedule for the same seed, then plays it against a
 * chaos cluster one fault at a time: SIGKILL and restart of a random member or of the
 * leader, SIGSTOP/SIGCONT of the leader, and partitions through the pair proxies
 * (majority/minority, isolated leader, bridge). Which member leads is found at run time, so
 * the member a leader fault hits can differ between runs of one seed; the plan cannot.
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
] as const;

/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One planned fault. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly quietMs: number;
  readonly durationMs: number;
  /** A permutation of member indexes: who is picked, how a partition splits. */
  readonly order: readonly number[];
}

/** One thing the nemesis did, for the run's log. */
export interface FaultEvent {
  readonly atMs: number;
  readonly kind: FaultKind | 'heal';
  readonly detail: string;
}

/** The plan for a seed: `count` faults over `size` members. Pure: same input, same plan. */
export function planFaults(seed: number, count: number, size: number): PlannedFault[] {
  const rng = new SimPrng(seed ^ 0x6e656d65);
  const plan: PlannedFault[] = [];
  for (let i = 0; i < count; i++) {
    const order = Array.from({ length: size }, (_, j) => j);
    for (let j = size - 1; j > 0; j--) {
      const k = rng.nextInt(j + 1);
      [order[j], order[k]] = [order[k]!, order[j]!];
    }
    plan.push({
      kind: rng.pick(FAULT_KINDS),
      quietMs: 1000 + rng.nextInt(2000),
      durationMs: 1500 + rng.nextInt(3500),
      order,
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

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly plan: readonly PlannedFault[],
    private readonly log: (line: string) => void = () => {},
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
    const names = f.order.map((i) => c.names[i]!);
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
    }
  }
}
