/** Majorities and joint majorities: who must agree for a commit or an election (thesis 3.4, 4.3). */
import type { NodeId } from './types.js';

/** The outcome of counting votes. */
export enum VoteResult {
  Pending = 'pending',
  Lost = 'lost',
  Won = 'won',
}

/** A simple majority over a set of voters. An empty set agrees to everything (it is the unused half of a joint config). */
export class MajorityConfig {
  readonly ids: ReadonlySet<NodeId>;

  constructor(ids: Iterable<NodeId> = []) {
    this.ids = new Set(ids);
  }

  /** The voters in ascending order (iteration order must never depend on insertion history). */
  sorted(): NodeId[] {
    return [...this.ids].sort((a, b) => a - b);
  }

  /** The highest index that a majority has acknowledged; Infinity for an empty config. */
  committedIndex(ackedIndex: (id: NodeId) => number): number {
    const n = this.ids.size;
    if (n === 0) return Number.POSITIVE_INFINITY;
    const acked: number[] = [];
    for (const id of this.ids) acked.push(ackedIndex(id));
    acked.sort((a, b) => b - a);
    return acked[Math.floor(n / 2)]!;
  }

  /** Counts votes: granted (true), rejected (false), missing (absent). */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const n = this.ids.size;
    if (n === 0) return VoteResult.Won;
    let granted = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) granted++;
    }
    const quorum = Math.floor(n / 2) + 1;
    if (granted >= quorum) return VoteResult.Won;
    if (granted + missing >= quorum) return VoteResult.Pending;
    return VoteResult.Lost;
  }
}

/** Two majorities that must both agree while a configuration change is in progress (joint consensus). */
export class JointConfig {
  constructor(
    readonly incoming: MajorityConfig,
    readonly outgoing: MajorityConfig = new MajorityConfig(),
  ) {}

  /** Whether this is a joint configuration. */
  isJoint(): boolean {
    return this.outgoing.ids.size > 0;
  }

  /** Every voter of either half, ascending. */
  ids(): NodeId[] {
    return [...new Set([...this.incoming.ids, ...this.outgoing.ids])].sort((a, b) => a - b);
  }

  /** Whether id votes in either half. */
  has(id: NodeId): boolean {
    return this.incoming.ids.has(id) || this.outgoing.ids.has(id);
  }

  /** The highest index both majorities have acknowledged. */
  committedIndex(ackedIndex: (id: NodeId) => number): number {
    return Math.min(this.incoming.committedIndex(ackedIndex), this.outgoing.committedIndex(ackedIndex));
  }

  /** Won only if both halves won; lost if either lost. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === VoteResult.Lost || r2 === VoteResult.Lost) return VoteResult.Lost;
    return VoteResult.Pending;
  }
}
