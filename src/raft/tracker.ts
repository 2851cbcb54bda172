/** The leader's bookkeeping: the active configuration, every member's progress, and votes. */

import type { Progress, ProgressState } from './progress.js';
import type { JointConfig } from './quorum.js';
import { VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

/** The membership as raft sees it: voters (maybe joint), learners, and learners-to-be. */
export interface TrackerConfig {
  readonly voters: JointConfig;
  /** Invariant: disjoint from voters.incoming and voters.outgoing. */
  readonly learners: ReadonlySet<NodeId>;
  /** Outgoing voters that become learners when the joint configuration is left. Invariant: subset of voters.outgoing. */
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

/** Configuration plus the progress of each member; replaced wholesale on every configuration change. */
export class ProgressTracker {
  /** Votes received in the current election, by voter. */
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    public config: TrackerConfig,
    /** Invariant: has exactly one entry per voter (either half) and learner. */
    public progress: Map<NodeId, Progress>,
  ) {}

  /** The configuration as a ConfState, with sorted id lists. */
  confState(): ConfState {
    const sorted = (s: Iterable<NodeId>) => [...s].sort((a, b) => a - b);
    return {
      voters: this.config.voters.incoming.sorted(),
      votersOutgoing: this.config.voters.outgoing.sorted(),
      learners: sorted(this.config.learners),
      learnersNext: sorted(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  /** Whether this configuration has exactly one voter and no joint half (the leader needs nobody). */
  isSingleton(): boolean {
    return this.config.voters.incoming.ids.size === 1 && !this.config.voters.isJoint();
  }

  /** Every member id (voters and learners), ascending: the only iteration order the core uses. */
  memberIds(): NodeId[] {
    return [...this.progress.keys()].sort((a, b) => a - b);
  }

  /** The highest index a quorum has in its log. */
  committed(): number {
    return this.config.voters.committedIndex((id) => this.progress.get(id)?.match ?? 0);
  }

  /** Whether a quorum was heard from recently (check-quorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    }
    return this.config.voters.voteResult(votes) === VoteResult.Won;
  }

  /** Forgets the votes of the last election. */
  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a voter's answer; the first answer from each voter counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts the votes recorded so far. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }

  /** A short description of every member's progress, for status and logs. */
  describe(): Map<NodeId, { match: number; next: number; state: ProgressState; learner: boolean }> {
    const out = new Map<NodeId, { match: number; next: number; state: ProgressState; learner: boolean }>();
    for (const id of this.memberIds()) {
      const pr = this.progress.get(id)!;
      out.set(id, { match: pr.match, next: pr.next, state: pr.state, learner: pr.isLearner });
    }
    return out;
  }
}
