/**
 * Locks over Cairn's LockService (proto/cairn/v1/lock.proto): the exclusive Mutex, the two
 * sides of a ReadWriteLock, and Semaphore places, each fair (first come, first served) and
 * fenced (every holder gets its key's create revision as a fencing token, larger for every
 * later holder). The API, from `client.locks`:
 *
 *   const handle = await client.lock('payments/acct-42', { waitTimeoutMs: 5000 });
 *   try { await ledger.write(entry, handle.fencingToken); } finally { await handle.release(); }
 *   await client.withLock('payments/acct-42', async ({ fencingToken, signal }) => ...);
 *   client.locks.mutex(name) / .readWrite(name) / .semaphore(name, limit)
 *   client.locks.describe(name) / .list(prefix)
 *
 * Leases. A lock lives as long as its lease. Without a `session` (or `lease`), each acquire
 * grants a lease of its own (ttlSeconds), keeps it alive, and release() revokes it. With a
 * Session, the lock lives in the session's lease and release() deletes only the key; one
 * session holds at most one key per lock name (the key is `<name>/<lease hex>`), so this
 * client refuses a second acquire of the same lock in the same session while the first holds
 * or waits.
 *
 * Retries. Acquire is sent again after a failure whose outcome is unknown (the member serving
 * the wait died, a deadline) because it always carries the lease: the server's first step,
 * for every kind (server side: coordination/lock.ts and shared-locks.ts), is "put the lease's
 * key (`<name>/<lease hex>`, or its read-/write-/sem- form) unless that key exists, else take
 * the existing key's create revision", so a repeat finds the key the first attempt made and
 * waits at the same place in line, with the same fencing token. The client never lets the
 * service grant the lease (ttl_seconds), for which a repeat would make a second key under a
 * second lease. TryAcquire is repeatable for the same reason (the caller's own key leading
 * counts as acquired), and Release deletes only the key created at the fencing token. When an
 * acquire fails for good, the client deletes whatever key it may have left in line (or
 * revokes its own lease). An attempt abandoned on a member that lives on leaves the line as
 * it gives up, which can take out the key a later attempt adopted; the server then answers
 * "session is expired" although the lease lives, and the acquire asks again (a few times) with
 * a new key at the back of the line.
 */
import { hostname } from 'node:os';
import { ErrorCode } from '../common/errors.js';
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';
import { type Bytes, toBytes } from './kv-types.js';
import type { Lease, Leases } from './lease.js';
import { LockHandle } from './lock-handle.js';
import {
  descriptionOf,
  holderOf,
  type LockDescription,
  type LockHolder,
  type LockList,
  listOf,
} from './lock-info.js';
import type { Session } from './session.js';
import { waitingCall } from './waiting-call.js';

/** How often one acquire asks again after its key vanished from the line while its lease lived on. */
const KEY_LOST_RETRIES_MAX = 3;

/** The lease TTL of a lock that is not held in a session: how long a crashed holder blocks the others. */
export const DEFAULT_LOCK_TTL_SECONDS = 30;

/** How long Client.close waits for the waits in line to end and for each release. */
const RELEASE_ALL_WAIT_MS = 2000;

/** How to hold and wait for a lock; every field is optional. */
export interface LockOptions {
  /** Hold the lock in this session's lease (release() then leaves the lease alone). */
  session?: Session;
  /** Hold the lock in this kept lease (as `session`). */
  lease?: Lease;
  /** Without session or lease: the TTL of the lease granted for this lock (default 30 s). */
  ttlSeconds?: number;
  /**
   * How long the whole acquire may take — the lease grant (without session or lease), the
   * wait in line and every retry; 0 or absent: no limit. Running out fails with
   * LOCK_WAIT_TIMEOUT. (In a caller's session, taking the key out of line afterwards is one
   * more call.)
   */
  waitTimeoutMs?: number;
  /** Who holds the lock, for Describe and List (default `<hostname>/<pid>`). */
  owner?: string;
  /** Aborts the wait (CANCELLED); in withLock, also aborts the signal the function gets. */
  signal?: AbortSignal;
}

/** What the function run under a lock gets. */
export interface LockContext {
  /** The holder's fencing token: send it with every write to the protected resource. */
  fencingToken: number;
  /** Aborts when the lock is lost (or options.signal aborts): stop the work. */
  signal: AbortSignal;
  /** The handle itself (key, lease, `lost`). */
  handle: LockHandle;
}

/** TryLock's answer: the lock, or who holds it. */
export type TryLockResult = { acquired: true; handle: LockHandle } | { acquired: false; holder?: LockHolder };

/** The four kinds of participant: the RPC that waits for it and its key's infix. */
export interface LockKind {
  /** The LockService call that waits for this kind. */
  readonly method: 'Acquire' | 'AcquireRead' | 'AcquireWrite' | 'AcquireSemaphore';
  /** What a participant's key carries between the lock's name and its lease id (`<name>/<infix><lease hex>`): the kinds told apart. */
  readonly infix: '' | 'read-' | 'write-' | 'sem-';
  /** How many may hold it at once (semaphores only). */
  readonly limit?: number;
}

const MUTEX: LockKind = { method: 'Acquire', infix: '' };
const READ: LockKind = { method: 'AcquireRead', infix: 'read-' };
const WRITE: LockKind = { method: 'AcquireWrite', infix: 'write-' };

function invalid(message: string): ClientError {
  return new ClientError(ErrorCode.INVALID_ARGUMENT, message, 3, false);
}

function defaultOwner(): string {
  return `${hostname()}/${process.pid}`;
}

/** The lock calls of one client (`client.locks`). */
export class Locks {
  /** Locks held or awaited in a caller's lease by this client: `<infix>\0<lease>\0<name hex>`. */
  private readonly inSession = new Set<string>();
  /** Aborted when the client closes: every wait in line ends then, and leaves the line. */
  private readonly closing = new AbortController();
  /** Acquires under way, and revocations of the leases of acquires that gave up (awaited by releaseAll). */
  private readonly pending = new Set<Promise<unknown>>();
  /** Locks this client holds now (released by releaseAll when the client closes). */
  private readonly held = new Set<LockHandle>();

  constructor(
    private readonly connection: Connection,
    private readonly leases: Leases,
  ) {}

  /** A Mutex object for one name. */
  mutex(name: Bytes): Mutex {
    return new Mutex(this, toBytes(name));
  }

  /** A read-write lock for one name (its keys do not exclude the Mutex of the same name). */
  readWrite(name: Bytes): ReadWriteLock {
    return new ReadWriteLock(this, toBytes(name));
  }

  /** A counting semaphore of `limit` places (every user of the name must give the same limit). */
  semaphore(name: Bytes, limit: number): Semaphore {
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw invalid('semaphore limit must be 1..10000');
    return new Semaphore(this, toBytes(name), limit);
  }

  /** Takes the exclusive lock, waiting in line; resolves to the held lock. */
  lock(name: Bytes, options: LockOptions = {}): Promise<LockHandle> {
    return this.acquire(MUTEX, toBytes(name), options);
  }

  /** Runs fn under the exclusive lock and releases it on every path; fn's result or error is passed on. */
  withLock<T>(name: Bytes, fn: (ctx: LockContext) => Promise<T> | T, options: LockOptions = {}): Promise<T> {
    return this.runHolding(this.lock(name, options), fn, options.signal);
  }

  /** Takes the exclusive lock only if nobody holds it or waits for it; never waits. */
  async tryLock(name: Bytes, options: Omit<LockOptions, 'waitTimeoutMs'> = {}): Promise<TryLockResult> {
    const nameBytes = toBytes(name);
    if (nameBytes.length === 0) throw invalid('lock name is empty');
    const { lease, owned } = await this.leaseFor(options);
    const slot = this.claimSlot(MUTEX, nameBytes, lease, owned);
    let held = false;
    try {
      const r = await this.connection.unary(
        'LockService',
        'TryAcquire',
        { name: nameBytes, lease: lease.id, owner: options.owner ?? defaultOwner() },
        // Repeatable: a repeat finds the caller's own key first in line and answers acquired.
        { idempotent: true, leader: true, ...(options.signal ? { signal: options.signal } : {}) },
      );
      if (!r.acquired)
        return r.holder ? { acquired: false, holder: holderOf(r.holder) } : { acquired: false };
      held = true;
      return { acquired: true, handle: this.handleOf(nameBytes, r, lease, owned, slot) };
    } finally {
      if (!held) {
        this.freeSlot(slot);
        // Refused, nothing was written; a lease granted for the attempt is of no use.
        if (owned) await lease.revoke().catch(() => undefined);
      }
    }
  }

  /** The holder of a lock and its waiters in line order. */
  async describe(name: Bytes): Promise<LockDescription> {
    const r = await this.connection.unary(
      'LockService',
      'Describe',
      { name: toBytes(name) },
      { idempotent: true },
    );
    return descriptionOf(r);
  }

  /** Every exclusive lock whose name starts with prefix: holder and how many wait (limit default 1000). */
  async list(prefix: Bytes, options: { limit?: number } = {}): Promise<LockList> {
    const r = await this.connection.unary(
      'LockService',
      'List',
      { prefix: toBytes(prefix), limit: options.limit ?? 0 },
      { idempotent: true },
    );
    return listOf(r);
  }

  /** Takes a lock of any kind (the Mutex, ReadWriteLock and Semaphore objects call this). */
  async acquire(kind: LockKind, name: Buffer, options: LockOptions): Promise<LockHandle> {
    const acquiring = this.waitInLine(kind, name, options);
    this.track(acquiring);
    return acquiring;
  }

  /** Keeps `p` in pending until it settles. */
  private track(p: Promise<unknown>): void {
    const forget = (): void => {
      this.pending.delete(settled);
    };
    const settled: Promise<void> = p.then(forget, forget);
    this.pending.add(settled);
  }

  private async waitInLine(kind: LockKind, name: Buffer, options: LockOptions): Promise<LockHandle> {
    if (name.length === 0) throw invalid('lock name is empty');
    if (this.closing.signal.aborted) throw this.connection.cancelled('cairn client: closed');
    const waitTimeoutMs = options.waitTimeoutMs ?? 0;
    if (!Number.isInteger(waitTimeoutMs) || waitTimeoutMs < 0)
      throw invalid('waitTimeoutMs must be an integer >= 0');
    // The wait timeout bounds the whole acquire: the lease grant, the wait in line and retries.
    const startedAtMs = performance.now();
    const timedOut = (): ClientError =>
      new ClientError(ErrorCode.LOCK_WAIT_TIMEOUT, 'cairn: lock wait timed out', 4, false);
    let leased: { lease: Lease; owned: boolean };
    try {
      leased = await this.leaseFor(options, waitTimeoutMs);
    } catch (err) {
      if (waitTimeoutMs > 0 && performance.now() - startedAtMs >= waitTimeoutMs) throw timedOut();
      throw err;
    }
    const { lease, owned } = leased;
    const slot = this.claimSlot(kind, name, lease, owned);
    // The wait ends when the lease is lost: the key in line went with it.
    const leaseLost = new AbortController();
    const onLost = (): void => leaseLost.abort();
    lease.once('lost', onLost);
    const signal = AbortSignal.any([
      ...(options.signal ? [options.signal] : []),
      leaseLost.signal,
      this.closing.signal,
    ]);
    let keyLostRetries = 0;
    try {
      const r = await waitingCall(
        this.connection,
        'LockService',
        kind.method,
        (waitMs) => ({
          name,
          lease: lease.id,
          wait_timeout_ms: waitMs,
          owner: options.owner ?? defaultOwner(),
          semaphore_limit: kind.limit ?? 0,
        }),
        {
          waitTimeoutMs,
          startedAtMs,
          signal,
          timedOut,
          // The key vanished from the line while the lease lives on: an earlier attempt of this
          // very acquire, abandoned when its member or connection failed, can take the key out
          // of the line as it gives up (as etcd's Mutex does) after the retry had adopted it.
          // Ask again: the lease puts a new key, at the back of the line, with a larger token.
          retryAlso: (err) =>
            err.code === ErrorCode.LOCK_SESSION_EXPIRED &&
            !lease.isLost &&
            ++keyLostRetries <= KEY_LOST_RETRIES_MAX,
        },
      );
      return this.handleOf(name, r, lease, owned, slot);
    } catch (err) {
      this.freeSlot(slot);
      await this.leaveLine(kind, name, lease, owned);
      if (leaseLost.signal.aborted && !options.signal?.aborted) {
        throw new ClientError(ErrorCode.LOCK_SESSION_EXPIRED, 'mutex: session is expired', 2, false);
      }
      throw err;
    } finally {
      lease.off('lost', onLost);
    }
  }

  /** Runs fn while holding the lock `held` resolves to, and releases it whatever happens. */
  async runHolding<T>(
    held: Promise<LockHandle>,
    fn: (ctx: LockContext) => Promise<T> | T,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const handle = await held;
    const ctxSignal = signal ? AbortSignal.any([handle.signal, signal]) : handle.signal;
    let result: T;
    try {
      result = await fn({ fencingToken: handle.fencingToken, signal: ctxSignal, handle });
    } catch (err) {
      // fn's error is what the caller needs; a failed release still ends with the lease.
      await handle.release().catch(() => undefined);
      throw err;
    }
    await handle.release();
    return result;
  }

  /** The caller's lease, or one granted now (within waitTimeoutMs when there is one). */
  private async leaseFor(options: LockOptions, waitTimeoutMs = 0): Promise<{ lease: Lease; owned: boolean }> {
    if (options.session && options.lease) throw invalid('give either session or lease, not both');
    const given = options.session?.lease ?? options.lease;
    if (given) {
      if (given.isLost)
        throw new ClientError(ErrorCode.LOCK_SESSION_EXPIRED, 'mutex: session is expired', 2, false);
      return { lease: given, owned: false };
    }
    const lease = await this.leases.grant(options.ttlSeconds ?? DEFAULT_LOCK_TTL_SECONDS, {
      ...(waitTimeoutMs > 0 ? { deadlineMs: Math.min(waitTimeoutMs, this.connection.deadlineMs) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { lease, owned: true };
  }

  /** Refuses a second acquire of one lock in one caller's lease (both would share one key). */
  private claimSlot(kind: LockKind, name: Buffer, lease: Lease, owned: boolean): string | undefined {
    if (owned) return undefined;
    const slot = `${kind.infix}\0${lease.id}\0${name.toString('hex')}`;
    if (this.inSession.has(slot)) {
      throw invalid(
        `this session already holds or waits for lock ${name.toString()} (one key per lease and name)`,
      );
    }
    this.inSession.add(slot);
    return slot;
  }

  private freeSlot(slot: string | undefined): void {
    if (slot !== undefined) this.inSession.delete(slot);
  }

  /** Releases every lock this client holds (Client.close does, before it stops the leases). */
  async releaseAll(): Promise<void> {
    // Waits in line end first (each leaves the line), so none turns into a lock held by a closed client.
    this.closing.abort();
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise((resolve) => setTimeout(resolve, RELEASE_ALL_WAIT_MS).unref()),
    ]);
    await Promise.allSettled([...this.held].map((h) => h.release({ deadlineMs: RELEASE_ALL_WAIT_MS })));
  }

  private handleOf(
    name: Buffer,
    r: Record<string, unknown>,
    lease: Lease,
    owned: boolean,
    slot: string | undefined,
  ): LockHandle {
    const handle: LockHandle = new LockHandle(
      this.connection,
      {
        name,
        key: r.key as Buffer,
        fencingToken: Number(r.fencing_token),
        heldAtRevision: Number((r.header as { revision?: unknown } | undefined)?.revision ?? 0),
        lease,
        ownsLease: owned,
      },
      () => {
        this.freeSlot(slot);
        this.held.delete(handle);
      },
    );
    if (handle.isHeld) this.held.add(handle);
    return handle;
  }

  /** After a failed acquire: takes a key that may be left in line (the service does too, unless its member died). */
  private async leaveLine(kind: LockKind, name: Buffer, lease: Lease, owned: boolean): Promise<void> {
    try {
      if (owned) {
        // Not awaited, so giving up stays within the wait timeout: revoke() stops the
        // keep-alive at once, and the lease runs out by itself if the call fails.
        this.track(lease.revoke().catch(() => undefined));
        return;
      }
      const key = Buffer.concat([name, Buffer.from(`/${kind.infix}${lease.id.toString(16)}`)]);
      await this.connection.unary('LockService', 'Release', { key }, { idempotent: true, leader: true });
    } catch {
      // Best effort: an owned lease has stopped renewing and ends by itself.
    }
  }
}

/** The exclusive lock of one name (etcd's Mutex layout: etcdctl lock excludes it too). */
export class Mutex {
  constructor(
    private readonly locks: Locks,
    /** The lock's name. */
    readonly name: Buffer,
  ) {}

  /** Takes the lock, waiting in line. */
  lock(options: LockOptions = {}): Promise<LockHandle> {
    return this.locks.acquire(MUTEX, this.name, options);
  }

  /** Takes the lock only if it is free; never waits. */
  tryLock(options: Omit<LockOptions, 'waitTimeoutMs'> = {}): Promise<TryLockResult> {
    return this.locks.tryLock(this.name, options);
  }

  /** Runs fn under the lock, releasing it on every path. */
  withLock<T>(fn: (ctx: LockContext) => Promise<T> | T, options: LockOptions = {}): Promise<T> {
    return this.locks.runHolding(this.lock(options), fn, options.signal);
  }

  /** The holder and waiters. */
  describe(): Promise<LockDescription> {
    return this.locks.describe(this.name);
  }
}

/** A read-write lock: readers share it, a writer holds it alone; first come, first served (no writer starvation). */
export class ReadWriteLock {
  constructor(
    private readonly locks: Locks,
    /** The lock's name. */
    readonly name: Buffer,
  ) {}

  /** Takes the shared side: holds once no writer came earlier. */
  read(options: LockOptions = {}): Promise<LockHandle> {
    return this.locks.acquire(READ, this.name, options);
  }

  /** Takes the exclusive side: holds once every earlier reader and writer has left. */
  write(options: LockOptions = {}): Promise<LockHandle> {
    return this.locks.acquire(WRITE, this.name, options);
  }

  /** Runs fn holding the shared side, releasing it on every path. */
  withRead<T>(fn: (ctx: LockContext) => Promise<T> | T, options: LockOptions = {}): Promise<T> {
    return this.locks.runHolding(this.read(options), fn, options.signal);
  }

  /** Runs fn holding the exclusive side, releasing it on every path. */
  withWrite<T>(fn: (ctx: LockContext) => Promise<T> | T, options: LockOptions = {}): Promise<T> {
    return this.locks.runHolding(this.write(options), fn, options.signal);
  }
}

/** A counting semaphore: at most `limit` hold a place at once; first come, first served. */
export class Semaphore {
  private readonly kind: LockKind;

  constructor(
    private readonly locks: Locks,
    /** The semaphore's name. */
    readonly name: Buffer,
    /** How many may hold at once. */
    readonly limit: number,
  ) {
    this.kind = { method: 'AcquireSemaphore', infix: 'sem-', limit };
  }

  /** Takes a place, waiting in line. The handle's fencing token orders holders but does not exclude. */
  acquire(options: LockOptions = {}): Promise<LockHandle> {
    return this.locks.acquire(this.kind, this.name, options);
  }

  /** Runs fn holding a place, releasing it on every path. */
  withPermit<T>(fn: (ctx: LockContext) => Promise<T> | T, options: LockOptions = {}): Promise<T> {
    return this.locks.runHolding(this.acquire(options), fn, options.signal);
  }
}
