/**
 * One simulated run for one seed: draw the cluster and fault settings, run a period of
 * chaos, heal everything, and check liveness: a leader within a bounded number of ticks,
 * and a write proposed after healing applied by every member of the final configuration,
 * whose applied histories must then be identical.
 */
import { Role } from '../../src/raft/index.js';
import { Nemesis } from './nemesis.js';
import { SimPrng } from './prng.js';
import { TICK_UNITS, World, type WorldOptions } from './world.js';

/** What a run reports. */
export interface RunResult {
  readonly seed: number;
  readonly steps: number;
  readonly clusterSize: number;
  readonly violations: readonly { property: string; message: string }[];
  readonly stateHash: string;
  readonly trace: readonly string[] | undefined;
}

/** Knobs of a run. */
export interface RunOptions {
  readonly brokenCommitRule?: boolean;
  readonly tracing?: boolean;
  /** Ticks of chaos before healing. */
  readonly faultTicks?: number;
  /** Upper bound on ticks for a leader to emerge after healing. */
  readonly electionBoundTicks?: number;
  /** Upper bound on ticks for the post-heal write to reach every member. */
  readonly convergenceBoundTicks?: number;
  /** Always five members with leader churn: the schedule under which the Figure 8 case arises most. */
  readonly figure8?: boolean;
  /** Lease-based reads (with check-quorum) on every member instead of ReadIndex rounds. */
  readonly leaseReads?: boolean;
}

/**
 * Runs one seed. The same seed always gives the same steps, violations and state hash. An
 * exception thrown by the core (a failed invariant) is reported as a violation of the run.
 */
export function runSeed(seed: number, ro: RunOptions = {}): RunResult {
  try {
    return runSeedUnguarded(seed, ro);
  } catch (err) {
    const e = err as Error;
    return {
      seed,
      steps: 0,
      clusterSize: 0,
      violations: [{ property: 'Exception', message: `${e.name}: ${e.message}` }],
      stateHash: '',
      trace: [String(e.stack)],
    };
  }
}

function runSeedUnguarded(seed: number, ro: RunOptions): RunResult {
  const prng = new SimPrng(seed);
  const drawnSize = prng.pick([1, 3, 3, 3, 5, 5]);
  const size = ro.figure8 ? 5 : drawnSize;
  const safetyFeatures = prng.chance(0.8);
  const opts: WorldOptions = {
    checkQuorum: safetyFeatures || prng.chance(0.5) || ro.leaseReads === true,
    preVote: safetyFeatures || prng.chance(0.5),
    messageSizeBytesMax: prng.chance(0.5) ? 48 : 1 << 20,
    inflightMessagesMax: prng.chance(0.5) ? 2 : 64,
    brokenCommitRule: ro.brokenCommitRule ?? false,
    leaseReads: ro.leaseReads ?? false,
    dropRate: prng.nextInt(10) / 100,
    duplicateRate: prng.nextInt(5) / 100,
    maxDelayUnits: 1 + prng.nextInt(3 * TICK_UNITS),
  };
  const w = new World(prng.fork(), opts, ro.tracing ?? false);
  w.log(() => `seed ${seed}: ${size} members, ${JSON.stringify(opts)}`);
  const voters = Array.from({ length: size }, (_, i) => i + 1);
  for (const id of voters)
    w.addNode(id, { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
  const leaderChurn = prng.chance(0.4) || ro.figure8 === true;
  w.log(() => `fault profile: mixed${leaderChurn ? ' + leader churn' : ''}`);
  const nemesis = new Nemesis(w, prng.fork(), size, leaderChurn);
  try {
    nemesis.runFaults(ro.faultTicks ?? 300);
    heal(w);
    checkLiveness(w, nemesis, ro.electionBoundTicks ?? 150, ro.convergenceBoundTicks ?? 300);
  } catch (err) {
    const e = err as Error;
    w.log(() => `EXCEPTION ${e.stack}`);
    w.violate({ property: 'Exception', message: `${e.name}: ${e.message}` });
  }
  return {
    seed,
    steps: w.steps,
    clusterSize: size,
    violations: w.violations,
    stateHash: w.stateHash(),
    trace: w.trace,
  };
}

function heal(w: World): void {
  w.log(() => 'heal: network repaired, every member restarted');
  w.faultsEnabled = false;
  w.blocked.clear();
  w.opts.dropRate = 0;
  w.opts.duplicateRate = 0;
  for (const n of w.nodes.values()) if (!n.raw) w.restart(n.id);
}

function runTicks(w: World, ticks: number, done: () => boolean): boolean {
  for (let t = 0; t < ticks; t++) {
    if (done()) return true;
    w.runUntil(w.now + TICK_UNITS);
  }
  return done();
}

/** The configuration every live member agrees on, as seen by the leader. */
function finalMembers(w: World): number[] {
  const lead = w.leader();
  if (!lead) return [];
  const c = lead.raw!.status().config;
  return [...new Set([...c.voters, ...c.votersOutgoing, ...c.learners, ...c.learnersNext])];
}

function checkLiveness(w: World, nemesis: Nemesis, electionBound: number, convergenceBound: number): void {
  if (
    !runTicks(
      w,
      electionBound,
      () => w.leader() !== undefined && w.leader()!.raw!.status().role === Role.Leader,
    )
  ) {
    w.violate({ property: 'Liveness', message: `no leader within ${electionBound} ticks after healing` });
    return;
  }
  // Propose on the leader until raft accepts (a transfer or a leader change may refuse it),
  // then wait for everyone. (A removed member may still believe in an old leader.)
  let name: string | undefined;
  const accepted = runTicks(w, electionBound, () => {
    name ??= nemesis.propose(w.leader());
    return name !== undefined;
  });
  if (!accepted || name === undefined) {
    w.violate({ property: 'Liveness', message: 'no write accepted after healing' });
    return;
  }
  const written = name;
  const converged = () => {
    const members = finalMembers(w);
    if (members.length === 0) return false;
    return members.every((id) => w.nodes.get(id)?.sm.has.has(written));
  };
  if (!runTicks(w, convergenceBound, converged)) {
    // The write may have been lost to a leader change: that is allowed, so try once more.
    name = undefined;
    runTicks(w, electionBound, () => {
      name ??= nemesis.propose(w.leader());
      return name !== undefined;
    });
    const second = name;
    if (
      second === undefined ||
      !runTicks(w, convergenceBound, () => finalMembers(w).every((id) => w.nodes.get(id)?.sm.has.has(second)))
    ) {
      w.violate({
        property: 'Liveness',
        message: `a write proposed after healing did not reach every member within ${convergenceBound} ticks`,
      });
      return;
    }
  }
  // Histories must always be prefixes of one another, and become equal once nothing is in flight.
  const members = finalMembers(w);
  const history = (id: number) => w.nodes.get(id)!.sm.writes;
  const longest = members.map(history).reduce((a, b) => (b.length > a.length ? b : a), []);
  for (const id of members) {
    const h = history(id);
    const at = h.findIndex((x, i) => longest[i] !== x);
    if (at >= 0) {
      w.violate({
        property: 'Liveness',
        message: `member ${id} applied ${h[at]} at position ${at} where another applied ${longest[at]}`,
      });
      return;
    }
  }
  const equal = () => new Set(finalMembers(w).map((id) => history(id).join(','))).size === 1;
  if (!runTicks(w, convergenceBound, equal)) {
    w.violate({
      property: 'Liveness',
      message: `members ${finalMembers(w)} did not converge to one history within ${convergenceBound} ticks`,
    });
  }
}
