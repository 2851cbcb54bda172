/**
 * Batched linearizable reads (thesis 6.4): reads that arrive while a ReadIndex round is in
 * flight wait for the next round, and every read of a round is released together once the
 * state machine has applied the round's index. One heartbeat round thus serves any number
 * of reads. The queue of waiting reads is bounded.
 *
 * A request can be lost without any sign: a follower's message to the leader dropped by a
 * one-way partition, a leader's heartbeat round whose acks never came. A round therefore
 * asks again (with a fresh context) every resend interval until answered or timed out,
 * and takes the answer to any of its requests; without that, one lost request held back
 * every linearizable read of the member for the whole request timeout, long after the
 * network healed (found by the chaos lock workload: waiters first in line were not served
 * for seconds after a one-way partition of their member ended).
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { ReadState } from '../raft/index.js';

/** Contexts one round remembers (older answers than these are ignored). */
const RESENDS_MAX = 16;

interface ReadWaiter {
  resolve(): void;
  reject(err: Error): void;
}

interface Round {
  /** The contexts this round asked with (the first, then one per resend); any answer serves it. */
  readonly contexts: Uint8Array[];
  readonly waiters: ReadWaiter[];
  readonly timer: NodeJS.Timeout;
  readonly resendTimer: NodeJS.Timeout | undefined;
}

/** What the loop needs from the node. */
export interface ReadIndexHost {
  /** Asks raft for a read index with this context; throws when there is no leader. */
  requestReadIndex(context: Uint8Array): void;
  /** Resolves once the state machine applied the index. */
  waitApplied(index: number): Promise<void>;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Coalesces linearizable reads into ReadIndex rounds, one round in flight at a time. */
export class ReadIndexLoop {
  private current: Round | undefined;
  private next: ReadWaiter[] = [];
  private roundSeq = 0;
  private stopped = false;

  constructor(
    private readonly host: ReadIndexHost,
    private readonly timeoutMs: number,
    private readonly pendingMax: number,
    /**
     * Makes this member's contexts unique in the cluster (its member id): the leader keeps one
     * pending read per context, and drops a request whose context another member already uses.
     */
    private readonly contextTag = 0,
    /** How often a round not yet answered asks again; 0: never. */
    private readonly resendIntervalMs = 0,
  ) {}

  /** Resolves when a read that starts now may be served from the local state machine. */
  read(): Promise<void> {
    if (this.stopped) return Promise.reject(new CairnError(ErrorCode.STOPPED, 'node is stopping'));
    if (this.next.length >= this.pendingMax) {
      return Promise.reject(
        new CairnError(ErrorCode.OVERLOADED, `too many linearizable reads waiting (${this.pendingMax})`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.next.push({ resolve, reject });
      if (!this.current) this.startRound();
    });
  }

  private newContext(): Uint8Array {
    this.roundSeq++;
    const context = new Uint8Array(16);
    const view = new DataView(context.buffer);
    view.setFloat64(0, this.contextTag);
    view.setFloat64(8, this.roundSeq);
    return context;
  }

  private startRound(): void {
    const waiters = this.next;
    this.next = [];
    if (waiters.length === 0) return;
    const context = this.newContext();
    const timer = setTimeout(() => this.expire(round), this.timeoutMs);
    timer.unref();
    const resendTimer =
      this.resendIntervalMs > 0 ? setInterval(() => this.resend(round), this.resendIntervalMs) : undefined;
    resendTimer?.unref();
    const round: Round = { contexts: [context], waiters, timer, resendTimer };
    this.current = round;
    try {
      this.host.requestReadIndex(context);
    } catch (err) {
      this.finish(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Asks again for a round still waiting: the earlier request or its answer may be lost. */
  private resend(round: Round): void {
    if (this.current !== round) return;
    if (round.contexts.length >= RESENDS_MAX) round.contexts.shift();
    const context = this.newContext();
    round.contexts.push(context);
    try {
      this.host.requestReadIndex(context);
    } catch {
      // No leader now: the next resend (or the leader change) asks again, the timeout ends it.
    }
  }

  private finish(err: Error | undefined, index?: number): void {
    const round = this.current;
    if (!round) return;
    this.current = undefined;
    clearTimeout(round.timer);
    if (round.resendTimer) clearInterval(round.resendTimer);
    if (err) {
      for (const w of round.waiters) w.reject(err);
    } else {
      this.host.waitApplied(index!).then(() => {
        for (const w of round.waiters) w.resolve();
      });
    }
    if (!this.stopped) this.startRound();
  }

  private expire(round: Round): void {
    if (this.current !== round) return;
    this.finish(new CairnError(ErrorCode.TIMEOUT, 'linearizable read timed out waiting for the leader'));
  }

  /** Hands a ReadState from a Ready to the round it answers. */
  onReadState(rs: ReadState): void {
    if (!this.current?.contexts.some((c) => sameBytes(c, rs.context))) return;
    this.finish(undefined, rs.index);
  }

  /**
   * Leadership moved: a request sent to the old leader may never be answered, so the
   * round's reads join the next round, which is sent at once.
   */
  onLeaderChange(): void {
    const round = this.current;
    if (!round || this.stopped) return;
    this.current = undefined;
    clearTimeout(round.timer);
    if (round.resendTimer) clearInterval(round.resendTimer);
    this.next = round.waiters.concat(this.next);
    this.startRound();
  }

  /** Fails everything waiting (shutdown). */
  stop(): void {
    this.stopped = true;
    const err = new CairnError(ErrorCode.STOPPED, 'node is stopping');
    this.finish(err);
    for (const w of this.next) w.reject(err);
    this.next = [];
  }
}
