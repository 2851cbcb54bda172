/**
 * A leader's read lease (thesis 6.4.1), counted on the lease clock: the ticks a node has been
 * given since it started, which its driver keeps in step with a monotonic clock. Each of the
 * leader's heartbeats carries the lease clock at sending; a voter echoes it back. A voter
 * that answered a heartbeat stamped S grants no vote, and does not campaign, until
 * electionTimeoutTicks of its own ticks have passed since it received it; so no other leader
 * can be elected before S + (electionTimeoutTicks - 1) ticks, give or take clock rates. The
 * leader holds the lease while a quorum has acknowledged a stamp S with now - S < leaseTicks,
 * where leaseTicks leaves two ticks to rounding and one to clock-rate drift
 * (see leaseTicksFor). Reads that arrive while the lease is not held wait for the next
 * acknowledged heartbeat round instead of taking a ReadIndex round of their own.
 */
import type { JointConfig } from './quorum.js';
import type { Message, NodeId } from './types.js';

/** Ticks of lease a heartbeat round buys for an election timeout, or 0 if it is too short to lease. */
export function leaseTicksFor(electionTimeoutTicks: number): number {
  return Math.max(0, electionTimeoutTicks - 3);
}

/** The lease state of one leader in one term. */
export class ReadLease {
  /** Per voter, the newest stamp of this term's heartbeats it acknowledged. */
  private readonly acks = new Map<NodeId, number>();
  /** Reads (local or forwarded) waiting for the lease to be confirmed, in arrival order. */
  private waiting: Message[] = [];
  /**
   * Set once this leader sent TimeoutNow in its term: the transferee campaigns past the
   * voters' lease, so reads take ReadIndex rounds for the rest of the term.
   */
  forfeited = false;

  /** Records a voter's acknowledgment of the heartbeat stamped `stampTicks` (0: not stamped). */
  recordAck(id: NodeId, stampTicks: number): void {
    if (stampTicks > (this.acks.get(id) ?? 0)) this.acks.set(id, stampTicks);
  }

  /** Whether the lease holds at `nowTicks`: a quorum acknowledged a stamp younger than `leaseTicks`. */
  holds(voters: JointConfig, self: NodeId, nowTicks: number, leaseTicks: number): boolean {
    if (this.forfeited || leaseTicks <= 0) return false;
    const start = voters.committedIndex((id) => (id === self ? nowTicks : (this.acks.get(id) ?? 0)));
    return start > 0 && nowTicks - start < leaseTicks;
  }

  /** Queues a read until the lease is confirmed. */
  wait(m: Message): void {
    this.waiting.push(m);
  }

  /** Whether reads are waiting. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Takes every waiting read, oldest first. */
  takeWaiting(): Message[] {
    const out = this.waiting;
    this.waiting = [];
    return out;
  }
}
