/**
 * What happens to the simulated cluster besides time passing: client proposals and
 * ReadIndex reads, and faults — crashes, restarts, symmetric and asymmetric partitions,
 * healing, snapshots with log compaction, membership changes (learners, promotion,
 * removal, joint consensus) and leadership transfers. Each action is drawn from the seed.
 */
import { isCairnError } from '../../src/common/errors.js';
import { type ConfChange, ConfChangeTransition, ConfChangeType, type NodeId } from '../../src/raft/index.js';
import type { SimPrng } from './prng.js';
import { type SimNode, TICK_UNITS, type World } from './world.js';

/** The largest member id the nemesis will create. */
const MAX_NODE_ID = 9;
const EMPTY = new Uint8Array(0);

/** Drives workload and faults for one run. */
export class Nemesis {
  private writeSeq = 0;
  private readSeq = 0;
  private nextId: number;
  private lastLeaderTerm = 0;

  constructor(
    private readonly w: World,
    private readonly prng: SimPrng,
    foundingSize: number,
    /** Whether this run adds the leader-churn fault profile. */
    private readonly leaderChurn: boolean,
  ) {
    this.nextId = foundingSize + 1;
  }

  /** Proposes a uniquely named write on `at` (default: a random live node); returns its name if raft accepted it. */
  propose(at?: SimNode): string | undefined {
    const live = this.w.live();
    if (live.length === 0) return undefined;
    const n = at?.raw ? at : this.prng.pick(live);
    const name = `w${++this.writeSeq}`;
    try {
      n.raw!.propose(new TextEncoder().encode(name));
      this.w.log(() => `propose ${name} at ${n.id}`);
      this.w.afterEvent(n);
      return name;
    } catch (err) {
      if (!isCairnError(err)) throw err;
      return undefined;
    }
  }

  /** Starts a ReadIndex read on a random live node. */
  read(): void {
    const live = this.w.live();
    if (live.length === 0) return;
    const n = this.prng.pick(live);
    const key = `r${++this.readSeq}`;
    try {
      n.reads.set(key, { mark: this.w.reads.mark() });
      n.raw!.readIndex(new TextEncoder().encode(key));
      this.w.log(() => `read ${key} at ${n.id}`);
      this.w.afterEvent(n);
    } catch (err) {
      n.reads.delete(key);
      if (!isCairnError(err)) throw err;
    }
  }

  private partition(): void {
    const ids = [...this.w.nodes.keys()];
    const side = new Set(ids.filter(() => this.prng.chance(0.5)));
    const asymmetric = this.prng.chance(0.3);
    for (const a of ids) {
      for (const b of ids) {
        if (side.has(a) && !side.has(b)) {
          this.w.blocked.add(`${a}>${b}`);
          if (!asymmetric) this.w.blocked.add(`${b}>${a}`);
        }
      }
    }
    this.w.log(() => `partition {${[...side]}} | rest${asymmetric ? ' (one way)' : ''}`);
  }

  private snapshot(): void {
    const candidates = this.w.live().filter((n) => n.sm.appliedIndex > n.disk.snapshot().metadata.index + 3);
    if (candidates.length === 0) return;
    const n = this.prng.pick(candidates);
    const at = n.sm.appliedIndex;
    const data = new TextEncoder().encode(JSON.stringify(n.sm.writes));
    n.disk.createSnapshot(at, n.raw!.status().config, data);
    const keep = this.prng.nextInt(4);
    n.disk.compact(Math.max(at - keep, n.disk.firstIndex() - 1));
    this.w.log(() => `node ${n.id} snapshot @${at}, log compacted to ${n.disk.firstIndex()}`);
  }

  private confChange(): void {
    const lead = this.w.leader();
    if (!lead) return;
    const cfg = lead.raw!.status().config;
    const voters = cfg.voters;
    const choices: (() => ConfChange | undefined)[] = [];
    const cc = (changes: ConfChange['changes'], transition = ConfChangeTransition.Auto): ConfChange => ({
      transition,
      changes,
      context: EMPTY,
    });
    if (cfg.votersOutgoing.length > 0 && !cfg.autoLeave) choices.push(() => cc([]));
    if (cfg.votersOutgoing.length === 0) {
      if (this.nextId <= MAX_NODE_ID) {
        choices.push(() => {
          const id = this.nextId++;
          this.w.addNode(id, undefined);
          return cc([{ type: ConfChangeType.AddLearnerNode, nodeId: id }]);
        });
      }
      if (cfg.learners.length > 0) {
        choices.push(() => cc([{ type: ConfChangeType.AddNode, nodeId: this.prng.pick(cfg.learners) }]));
        if (voters.length > 1) {
          choices.push(() =>
            cc(
              [
                { type: ConfChangeType.AddNode, nodeId: this.prng.pick(cfg.learners) },
                { type: ConfChangeType.RemoveNode, nodeId: this.prng.pick(voters) },
              ],
              this.prng.chance(0.5) ? ConfChangeTransition.JointImplicit : ConfChangeTransition.JointExplicit,
            ),
          );
        }
      }
      if (voters.length > 1)
        choices.push(() => cc([{ type: ConfChangeType.RemoveNode, nodeId: this.prng.pick(voters) }]));
    }
    if (choices.length === 0) return;
    const change = this.prng.pick(choices)();
    if (!change) return;
    try {
      lead.raw!.proposeConfChange(change);
      this.w.log(
        () =>
          `conf change at ${lead.id}: ${change.changes.map((c) => `${ConfChangeType[c.type]}(${c.nodeId})`).join(' ') || 'leave-joint'} ${ConfChangeTransition[change.transition]}`,
      );
      this.w.afterEvent(lead);
    } catch (err) {
      if (!isCairnError(err)) throw err;
    }
  }

  private transfer(): void {
    const lead = this.w.leader();
    if (!lead) return;
    const voters = lead.raw!.status().config.voters.filter((id) => id !== lead.id);
    if (voters.length === 0) return;
    const to: NodeId = this.prng.pick(voters);
    this.w.log(() => `transfer leadership ${lead.id} -> ${to}`);
    try {
      lead.raw!.transferLeadership(to);
      this.w.afterEvent(lead);
    } catch (err) {
      if (!isCairnError(err)) throw err;
    }
  }

  /**
   * Leader churn: crash or isolate whoever leads, and bring members back quickly. This is
   * the schedule under which entries of old terms get replicated by newer leaders and
   * then contested (the Raft paper's Figure 8).
   */
  private churn(): void {
    const p = this.prng;
    const lead = this.w.leader();
    // A fresh leader sometimes dies before its first entries leave it.
    const term = lead?.raw?.status().term ?? 0;
    if (lead && term !== this.lastLeaderTerm) {
      this.lastLeaderTerm = term;
      if (p.chance(0.3)) this.w.crashSoon(lead.id, 1 + p.nextInt(TICK_UNITS));
    }
    if (lead && p.chance(0.05)) this.w.crash(lead.id);
    // A write on the leader, and the leader dies while replicating it.
    if (lead?.raw && p.chance(0.15) && this.propose(lead) !== undefined)
      this.w.crashSoon(lead.id, 1 + p.nextInt(2 * TICK_UNITS));
    if (lead?.raw && p.chance(0.06)) {
      // Cut the leader off with at most one follower, often right after it proposed: its
      // newest entries then live on a minority that a later leader may or may not extend.
      const others = [...this.w.nodes.keys()].filter((n) => n !== lead.id);
      const buddy = p.chance(0.7) && others.length > 0 ? p.pick(others) : undefined;
      if (p.chance(0.5)) this.propose(lead);
      const side = new Set([lead.id, ...(buddy === undefined ? [] : [buddy])]);
      for (const a of side) {
        for (const b of others) {
          if (side.has(b)) continue;
          this.w.blocked.add(`${a}>${b}`);
          this.w.blocked.add(`${b}>${a}`);
        }
      }
      this.w.log(() => `isolate leader ${lead.id}${buddy === undefined ? '' : ` with ${buddy}`}`);
    }
    if (p.chance(0.2)) {
      const down = [...this.w.nodes.values()].filter((n) => !n.raw && !n.retired);
      if (down.length > 0) this.w.restart(p.pick(down).id);
    }
    if (p.chance(0.1) && this.w.blocked.size > 0) {
      this.w.blocked.clear();
      this.w.log(() => 'heal partitions');
    }
  }

  /** One tick of chaos: a random mix of workload and faults. */
  act(): void {
    const p = this.prng;
    if (this.leaderChurn) this.churn();
    if (p.chance(0.6)) this.propose();
    if (p.chance(0.3)) this.read();
    if (p.chance(0.02)) {
      const live = this.w.live();
      if (live.length > 0) this.w.crash(p.pick(live).id);
    }
    if (p.chance(0.05)) {
      const down = [...this.w.nodes.values()].filter((n) => !n.raw && !n.retired);
      if (down.length > 0) this.w.restart(p.pick(down).id);
    }
    if (p.chance(0.015)) this.partition();
    if (p.chance(0.03) && this.w.blocked.size > 0) {
      this.w.blocked.clear();
      this.w.log(() => 'heal partitions');
    }
    if (p.chance(0.03)) this.snapshot();
    if (p.chance(0.015)) this.confChange();
    if (p.chance(0.01)) this.transfer();
  }

  /** Runs ticks of chaos. */
  runFaults(ticks: number): void {
    for (let t = 0; t < ticks; t++) {
      this.w.runUntil(this.w.now + TICK_UNITS);
      this.act();
    }
  }
}
