/**
 * Batched linearizable reads (thesis 6.4): reads that arrive while a ReadIndex round is in
 * flight wait for the next round, and every read of a round is released together once the
 * state machine has applied the round's index. One heartbeat round thus serves any number
 * of reads. The queue of waiting reads is bounded.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { ReadState } from '../raft/index.js';

interface ReadWaiter {
  resolve(): void;
  reject(err: Error): void;
}

interface Round {
  readonly context: Uint8Array;
  readonly waiters: ReadWaiter[];
  readonly timer: NodeJS.Timeout;
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

  private startRound(): void {
    const waiters = this.next;
    this.next = [];
    if (waiters.length === 0) return;
    this.roundSeq++;
    const context = new Uint8Array(16);
    const view = new DataView(context.buffer);
    view.setFloat64(0, this.contextTag);
    view.setFloat64(8, this.roundSeq);
    const timer = setTimeout(() => this.expire(context), this.timeoutMs);
    timer.unref();
    this.current = { context, waiters, timer };
    try {
      this.host.requestReadIndex(context);
    } catch (err) {
      this.finish(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private finish(err: Error | undefined, index?: number): void {
    const round = this.current;
    if (!round) return;
    this.current = undefined;
    clearTimeout(round.timer);
    if (err) {
      for (const w of round.waiters) w.reject(err);
    } else {
      this.host.waitApplied(index!).then(() => {
        for (const w of round.waiters) w.resolve();
      });
    }
    if (!this.stopped) this.startRound();
  }

  private expire(context: Uint8Array): void {
    if (!this.current || !sameBytes(this.current.context, context)) return;
    this.finish(new CairnError(ErrorCode.TIMEOUT, 'linearizable read timed out waiting for the leader'));
  }

  /** Hands a ReadState from a Ready to the round it answers. */
  onReadState(rs: ReadState): void {
    if (!this.current || !sameBytes(this.current.context, rs.context)) return;
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
