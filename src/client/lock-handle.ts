/**
 * A held lock: its key, its fencing token and the lease that keeps it. The handle watches
 * both things that can end a lock behind its holder's back — the lease (a keep-alive that did
 * not get through in time, or a revoke from elsewhere) and the key itself (deleted by an
 * operator or by the lease's end on the cluster) — and when either happens it emits `lost`
 * once and aborts `signal`, so the work done under the lock can stop. The fencing token still
 * protects the resource when the holder learns of the loss too late (a paused process).
 */
import { EventEmitter } from 'node:events';
import { ErrorCode } from '../common/errors.js';
import type { CallOptions, Connection } from './connection.js';
import { ClientError, isClientError } from './errors.js';
import type { Lease, LeaseLostReason } from './lease.js';
import { Watcher } from './watch.js';

/** Why a held lock was lost: its lease ended, its key was deleted, or the client closed. */
export type LockLostReason = Exclude<LeaseLostReason, 'closed'> | 'key-deleted' | 'client-closed';

/** Events of a LockHandle. */
export interface LockHandleEvents {
  /** The lock is gone (or may be): once; `signal` aborts at the same time. */
  lost: [reason: LockLostReason];
}

/** What the lock service answered, and how the lock is kept. */
export interface HeldLockInit {
  /** The lock's name. */
  readonly name: Buffer;
  /** This holder's key in the lock's line. */
  readonly key: Buffer;
  /** The fencing token: the key's create revision, larger for every later holder. */
  readonly fencingToken: number;
  /** The revision at which the cluster confirmed the lock held. */
  readonly heldAtRevision: number;
  /** The lease that keeps the lock held. */
  readonly lease: Lease;
  /** Whether the lease was granted for this lock alone (revoked on release). */
  readonly ownsLease: boolean;
}

/** A lock held by this process; release() it (withLock does so on every path). */
export class LockHandle extends EventEmitter<LockHandleEvents> {
  /** The lock's name. */
  readonly name: Buffer;
  /** The lock key (`<name>/<lease hex>`, or the read-/write-/sem- forms). */
  readonly key: Buffer;
  /** The key's create revision: send it with every write to the protected resource; larger for every later holder. */
  readonly fencingToken: number;
  /** The lease that keeps the lock (the session's, or one granted for this lock). */
  readonly lease: Lease;
  private readonly ownsLease: boolean;
  private readonly controller = new AbortController();
  private state: 'held' | 'lost' | 'released' = 'held';
  private lostReason: LockLostReason | undefined;
  private releasing: Promise<boolean> | undefined;
  private watcher: Watcher | undefined;
  private readonly onLeaseLost = (reason: LeaseLostReason): void => {
    if (reason !== 'closed') this.markLost(reason);
  };

  constructor(
    private readonly connection: Connection,
    init: HeldLockInit,
    /** Called once when the handle stops holding (released or lost). */
    private readonly onEnd: () => void = () => undefined,
  ) {
    super();
    this.name = init.name;
    this.key = init.key;
    this.fencingToken = init.fencingToken;
    this.lease = init.lease;
    this.ownsLease = init.ownsLease;
    this.lease.on('lost', this.onLeaseLost);
    if (this.lease.isLost) {
      queueMicrotask(() => this.markLost('expired'));
      return;
    }
    void this.guardKey(init.heldAtRevision + 1);
  }

  /** Aborts when the lock is lost or released: pass it to the work done under the lock. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the lock is still held as far as the client knows. */
  get isHeld(): boolean {
    return this.state === 'held';
  }

  /** Why the lock was lost, once it was. */
  get lost(): LockLostReason | undefined {
    return this.lostReason;
  }

  /** Watches the key for its deletion; a compacted resume point is checked by a read. */
  private async guardKey(fromRevision: number): Promise<void> {
    let from = fromRevision;
    while (this.state === 'held') {
      const watcher = new Watcher(this.connection, this.key, { startRevision: from, noPut: true });
      this.watcher = watcher;
      if (this.state !== 'held') watcher.close();
      try {
        for await (const event of watcher) {
          if (event.type === 'delete') {
            this.markLost('key-deleted');
            return;
          }
        }
        return; // closed by release() or markLost()
      } catch (err) {
        if (this.state !== 'held') return;
        if (!isClientError(err, ErrorCode.COMPACTED)) {
          // CANCELLED: the client was closed; nothing watches the lock any more.
          this.markLost('client-closed');
          return;
        }
        try {
          const r = await this.connection.unary('KV', 'Range', { key: this.key }, { idempotent: true });
          const kv = r.kvs?.[0];
          if (!kv || Number(kv.create_revision) !== this.fencingToken) {
            this.markLost('key-deleted');
            return;
          }
          from = Number(r.header.revision) + 1;
        } catch {
          this.markLost('client-closed');
          return;
        }
      }
    }
  }

  private stop(reason: ClientError): void {
    this.lease.off('lost', this.onLeaseLost);
    this.watcher?.close();
    this.controller.abort(reason);
    this.onEnd();
  }

  private markLost(reason: LockLostReason): void {
    if (this.state !== 'held') return;
    this.state = 'lost';
    this.lostReason = reason;
    this.stop(
      new ClientError(
        ErrorCode.LOCK_SESSION_EXPIRED,
        `cairn client: lock ${this.name.toString()} lost (${reason})`,
        2,
        false,
      ),
    );
    // A lease of its own serves no purpose any more; stop it (and its key, if any is left).
    if (this.ownsLease) void this.lease.revoke().catch(() => undefined);
    this.emit('lost', reason);
  }

  /**
   * Releases the lock: deletes its key if it is still the one created at the fencing token
   * (so a late release never deletes a later holder's key), and revokes the lease if it was
   * granted for this lock. Idempotent; resolves to whether a key was deleted. Safe to call
   * after `lost` (it deletes whatever of the lock may remain).
   */
  release(options: CallOptions = {}): Promise<boolean> {
    if (this.releasing) return this.releasing;
    if (this.state === 'held') {
      this.state = 'released';
      this.stop(new ClientError(ErrorCode.CANCELLED, 'cairn client: lock released', 1, false));
    }
    // The lease's keep-alive stops now; the call below revokes it on the cluster.
    if (this.ownsLease) this.lease.release();
    this.releasing = this.connection
      .unary(
        'LockService',
        'Release',
        {
          key: this.key,
          fencing_token: this.fencingToken,
          lease: this.ownsLease ? this.lease.id : 0,
          revoke_lease: this.ownsLease,
        },
        // Deleting the key created at the token, and revoking a lease, can both be repeated.
        { idempotent: true, leader: true, ...options },
      )
      .then(
        (r) => Boolean(r.released),
        (err: unknown) => {
          this.releasing = undefined; // a later release() tries again
          throw err;
        },
      );
    return this.releasing;
  }
}
