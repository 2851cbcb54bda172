/**
 * Waiters for proposals this node made: each resolves with the result the state machine
 * produced when the entry was applied here, or fails with TIMEOUT (outcome unknown). The
 * number of waiters is bounded: beyond it, new proposals are refused with OVERLOADED.
 */
import { CairnError, ErrorCode } from '../common/errors.js';

interface Waiter<R> {
  resolve(result: R): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  /** The leader the proposal was handed to (this member's own id while it led). */
  leader: number;
}

/** Issues sequence numbers and matches applied entries back to the callers that proposed them. */
export class ProposalTracker<R> {
  private readonly waiters = new Map<number, Waiter<R>>();
  /**
   * Invariant: strictly increasing for the life of this member, across restarts, because it
   * starts from the wall clock in microseconds: an entry proposed by an earlier incarnation
   * can never match a waiter of this one.
   */
  private nextSeq: number;

  constructor(
    private readonly pendingMax: number,
    private readonly timeoutMs: number,
    startSeq: number,
  ) {
    this.nextSeq = startSeq;
  }

  /** Number of proposals waiting for their result. */
  get pending(): number {
    return this.waiters.size;
  }

  /** Registers a waiter for a proposal handed to `leader` and returns its sequence number and the promise of its result. */
  register(leader = 0): { seq: number; result: Promise<R> } {
    if (this.waiters.size >= this.pendingMax) {
      throw new CairnError(ErrorCode.OVERLOADED, `too many requests in flight (${this.pendingMax})`);
    }
    const seq = ++this.nextSeq;
    const result = new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(seq);
        reject(new CairnError(ErrorCode.TIMEOUT, 'request timed out; its outcome is unknown'));
      }, this.timeoutMs);
      timer.unref();
      this.waiters.set(seq, { resolve, reject, timer, leader });
    });
    // A caller that gives up must not produce an unhandled rejection.
    result.catch(() => {});
    return { seq, result };
  }

  /** Delivers an applied result to its waiter, if this node is waiting for it. */
  resolve(seq: number, result: R): void {
    const w = this.waiters.get(seq);
    if (!w) return;
    this.waiters.delete(seq);
    clearTimeout(w.timer);
    w.resolve(result);
  }

  /** Fails one waiter (its proposal was refused before it reached the log). */
  fail(seq: number, err: Error): void {
    const w = this.waiters.get(seq);
    if (!w) return;
    this.waiters.delete(seq);
    clearTimeout(w.timer);
    w.reject(err);
  }

  /** Fails every waiter whose proposal went to another leader than `leader` (the leader changed); returns how many. */
  failUnlessLeader(leader: number, err: Error): number {
    let failed = 0;
    for (const [seq, w] of [...this.waiters]) {
      if (w.leader === leader) continue;
      this.fail(seq, err);
      failed++;
    }
    return failed;
  }

  /** Fails every waiter (shutdown). */
  failAll(err: Error): void {
    for (const seq of [...this.waiters.keys()]) this.fail(seq, err);
  }
}
