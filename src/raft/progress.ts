/** The leader's view of one follower's log: how far it matches and how to send it more (thesis 3.5, 10.2). */
import { Inflights } from './inflights.js';

/** How the leader is currently replicating to a follower. */
export enum ProgressState {
  /** One append at a time until the follower's match index is found. */
  Probe = 'probe',
  /** Pipelined appends, bounded by the inflight window. */
  Replicate = 'replicate',
  /** A snapshot is on its way; appends wait. */
  Snapshot = 'snapshot',
}

/** Replication progress of one member, as the leader tracks it. */
export class Progress {
  /** Invariant: match < next. */
  match: number;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Index of the snapshot in flight while state is Snapshot; 0 otherwise. */
  pendingSnapshot = 0;
  /** Whether the member was heard from since the last check-quorum round. */
  recentActive: boolean;
  /** In Probe: an append was sent and no answer came yet. */
  probeSent = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(opts: {
    match: number;
    next: number;
    inflightMessagesMax: number;
    isLearner: boolean;
    recentActive: boolean;
  }) {
    this.match = opts.match;
    this.next = opts.next;
    this.inflights = new Inflights(opts.inflightMessagesMax);
    this.isLearner = opts.isLearner;
    this.recentActive = opts.recentActive;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Falls back to probing, e.g. after a rejection or an unreachable report. */
  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  /** Starts pipelining once the match index is known. */
  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  /** Waits for a snapshot at index to be installed. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records an acknowledgment up to index; returns whether match moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Pipelining: assumes the append up to index will succeed. */
  optimisticUpdate(index: number): void {
    this.next = index + 1;
  }

  /**
   * Handles a rejected append of the entry after `rejected`; `matchHint` is the leader's
   * guess (from the follower's hint) of the highest index that may match. Returns false when
   * the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must not send appends now. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
