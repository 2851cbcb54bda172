/**
 * The coordinator's leader-only timers: while this member leads, a scan every
 * scanIntervalMs (and one at once on becoming leader) proposes ABORT for PREPARING records
 * past their deadline and removes finished records past retention. Deadlines are in the
 * records, so a new leader's first scan enforces whatever the old one had not. Scans never
 * overlap; a failed scan (lost leadership, a timeout) is logged and the next one tries again.
 */
import type { Logger } from '../common/logger.js';
import type { CoordinationLeadership } from './ports.js';
import type { TxnCoordinator } from './txn-coordinator.js';

/** Tuning of the leader's scans. */
export interface TxnLeaderDutiesOptions {
  /** Pause between the end of one scan and the start of the next. */
  readonly scanIntervalMs: number;
  readonly logger?: Logger;
}

/** Runs the coordinator's deadline and retention scans on the leader only. */
export class TxnLeaderDuties {
  /** Invariant: bumped whenever leadership is lost or the duties stop; a scan loop of an older generation ends. */
  private generation = 0;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly coordinator: TxnCoordinator,
    private readonly leadership: CoordinationLeadership,
    private readonly opts: TxnLeaderDutiesOptions,
  ) {}

  /** Starts following leadership (scanning at once if this member already leads). */
  start(): void {
    this.unsubscribe = this.leadership.onChange((leading) => this.onLeadership(leading));
    if (this.leadership.isLeader()) this.onLeadership(true);
  }

  /** Stops scanning and waits for a scan in progress to finish. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.onLeadership(false);
    await this.running;
  }

  /** Runs one scan now (tests; and the loop). Resolves with what it did. */
  async scanOnce(): Promise<{ aborted: number; removed: number }> {
    const aborted = await this.coordinator.abortExpired();
    const removed = await this.coordinator.removeFinished();
    return { aborted, removed };
  }

  private onLeadership(leading: boolean): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (leading) this.schedule(this.generation, 0);
  }

  private schedule(generation: number, delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (generation !== this.generation) return;
      // After the previous scan (of any generation) has ended: scans never overlap.
      const scan = (this.running ?? Promise.resolve()).then(async () => {
        if (generation !== this.generation) return;
        try {
          const did = await this.scanOnce();
          if (did.aborted + did.removed > 0) this.opts.logger?.debug(did, 'transaction scan');
        } catch (err) {
          this.opts.logger?.warn({ err: (err as Error).message }, 'transaction scan failed');
        }
        if (generation === this.generation) this.schedule(generation, this.opts.scanIntervalMs);
      });
      this.running = scan;
    }, delayMs);
    this.timer.unref?.();
  }
}
