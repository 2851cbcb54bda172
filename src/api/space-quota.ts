/**
 * The space quota (etcd's --quota-backend-bytes): this member's data size on disk, measured
 * every refresh interval, against the quota. When the size passes the quota the member
 * proposes a NOSPACE alarm for itself; a write that would pass it is refused at once with
 * etcd's "database space exceeded" (and raises the alarm too), as etcd's quota check does
 * before proposing. The replicated alarm then makes every member refuse growing writes.
 */
import type { Logger } from '../common/logger.js';
import type { RequestOp, TxnRequest } from '../mvcc/index.js';
import { noSpaceError } from '../node/alarms.js';

/** What the quota needs from the member. */
export interface SpaceQuotaOptions {
  readonly quotaBytes: number;
  readonly refreshIntervalMs: number;
  /** Measures the data folder, in bytes. */
  readonly measureBytes: () => Promise<number>;
  /** Whether this member's NOSPACE alarm is already active. */
  readonly alarmRaised: () => boolean;
  /** Proposes a NOSPACE alarm for this member; resolves once applied. */
  readonly raiseAlarm: () => Promise<unknown>;
  readonly logger: Logger;
}

function opPutBytes(op: RequestOp): number {
  if ('requestPut' in op) return op.requestPut.key.byteLength + (op.requestPut.value?.byteLength ?? 0);
  if ('requestTxn' in op) return txnPutBytes(op.requestTxn);
  return 0;
}

/** Bytes a Txn's puts carry (both branches, nested Txns included): its cost against the quota. */
export function txnPutBytes(t: TxnRequest): number {
  let n = 0;
  for (const op of [...(t.success ?? []), ...(t.failure ?? [])]) n += opPutBytes(op);
  return n;
}

/** Tracks the data size against the quota and raises NOSPACE for this member. */
export class SpaceQuota {
  private sizeBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private raising = false;
  private readonly log: Logger;

  constructor(private readonly opts: SpaceQuotaOptions) {
    this.log = opts.logger.child({ component: 'quota' });
  }

  /** The data size last measured (etcd's dbSize). */
  get dbSizeBytes(): number {
    return this.sizeBytes;
  }

  /** Measures once, then every refresh interval. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.log.warn({ err }, 'measuring the data size failed'));
    }, this.opts.refreshIntervalMs);
    this.timer.unref();
  }

  /** Stops measuring. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Measures now; raises the alarm if the size passed the quota. */
  async refresh(): Promise<number> {
    this.sizeBytes = await this.opts.measureBytes();
    if (this.sizeBytes > this.opts.quotaBytes) this.raise();
    return this.sizeBytes;
  }

  /** Refuses (NO_SPACE) a write of costBytes that would take the data past the quota, and raises the alarm. */
  check(costBytes: number): void {
    if (this.sizeBytes + costBytes <= this.opts.quotaBytes) return;
    this.raise();
    throw noSpaceError();
  }

  private raise(): void {
    if (this.raising || this.opts.alarmRaised()) return;
    this.raising = true;
    this.log.warn({ dbSizeBytes: this.sizeBytes, quotaBytes: this.opts.quotaBytes }, 'raising NOSPACE alarm');
    this.opts
      .raiseAlarm()
      .catch((err: unknown) => this.log.warn({ err }, 'raising the NOSPACE alarm failed; will retry'))
      .finally(() => {
        this.raising = false;
      });
  }
}
