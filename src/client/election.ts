/**
 * Leader election over etcd's v3electionpb.Election service (served by Cairn and by etcd,
 * same keys as etcdctl elect): `client.election(name)` gives an Election object for one
 * process, as etcd's concurrency.Election:
 *
 *   const e = client.election('payments/settler');
 *   await e.campaign('node-a');          // resolves once this process leads
 *   e.signal                             // aborts when leadership ends (resign, session lost)
 *   await e.proclaim('node-a v2');       // new value, same leadership
 *   for await (const l of e.observe()) … // every leader value, across reconnects
 *   await e.resign();                    // the next candidate takes over
 *
 * A candidate lives in a session (a lease kept alive): the one given, or one the Election
 * starts at its first campaign and revokes on resign(). A process that dies stops renewing,
 * its lease runs out and the next candidate leads. Campaign is repeatable: it always carries
 * the session's lease, and the server re-uses the key `<name>/<lease hex>` that lease already
 * has, so a campaign broken by a member's death is sent again and keeps its place in line.
 */
import { ErrorCode } from '../common/errors.js';
import type { CallOptions, Connection } from './connection.js';
import { ElectionObserver } from './election-observer.js';
import { ClientError, isClientError } from './errors.js';
import { type Bytes, type KeyValue, keyValueOf, toBytes } from './kv-types.js';
import type { Session, SessionOptions } from './session.js';
import { waitingCall } from './waiting-call.js';

/** What identifies one leadership (etcd's LeaderKey): the key and its create revision. */
export interface LeaderKey {
  /** The election's name. */
  name: Buffer;
  /** The leader's key under the election's prefix. */
  key: Buffer;
  /** The key's create revision: larger for every later leader (usable as a fencing token). */
  rev: number;
  /** The lease the leadership is bound to (it ends with the lease). */
  lease: number;
}

/** Options of an Election. */
export interface ElectionOptions {
  /** Campaign in this session; without one, the Election starts its own at the first campaign. */
  session?: Session;
  /** The TTL of a session the Election starts (default 60 s, as Session). */
  ttlSeconds?: number;
}

function notLeader(): ClientError {
  return new ClientError(ErrorCode.ELECTION_NOT_LEADER, 'election: not leader', 2, false);
}

function leaderKeyToWire(l: LeaderKey): Record<string, unknown> {
  return { name: l.name, key: l.key, rev: l.rev, lease: l.lease };
}

/** What a Client gives its Elections so that close() ends their campaigns first. */
export interface ClientClosing {
  /** Aborts when the client starts to close. */
  readonly signal: AbortSignal;
  /** Called with each campaign; close() waits (bounded) for those still under way. */
  track(campaign: Promise<unknown>): void;
}

/** One process's part in one election: campaign, proclaim, resign, and watching who leads. */
export class Election {
  private session: Session | undefined;
  private readonly ownsSession: boolean;
  private leadership: { key: LeaderKey; controller: AbortController } | undefined;
  private campaigning: AbortController | undefined;

  constructor(
    private readonly connection: Connection,
    /** Starts a session for the Election's own use (the client's, so client.close() ends it). */
    private readonly startSession: (options: SessionOptions) => Promise<Session>,
    /** The election's name (its keys are `<name>/<lease hex>`). */
    readonly name: Buffer,
    private readonly options: ElectionOptions = {},
    /** The client's close: aborts campaigns in flight, and waits for each to leave the line. */
    private readonly clientClosing?: ClientClosing,
  ) {
    this.session = options.session;
    this.ownsSession = options.session === undefined;
  }

  /** This process's leadership while it leads. */
  get leaderKey(): LeaderKey | undefined {
    return this.leadership?.key;
  }

  /** Whether this process leads (as far as it knows: the session is alive and it has not resigned). */
  get isLeader(): boolean {
    return this.leadership !== undefined;
  }

  /** While leading: aborts when the leadership ends (resign, or the session lost). Undefined otherwise. */
  get signal(): AbortSignal | undefined {
    return this.leadership?.controller.signal;
  }

  private async sessionFor(): Promise<Session> {
    if (this.session && !this.session.isLost) return this.session;
    if (!this.ownsSession) throw notLeader();
    this.session = await this.startSession({
      ...(this.options.ttlSeconds !== undefined ? { ttlSeconds: this.options.ttlSeconds } : {}),
    });
    return this.session;
  }

  /**
   * Puts value forward and resolves once this process leads (waiting for every earlier
   * candidate to resign or lose its session). Already leading: proclaims value. Aborting
   * signal, or the session's loss, ends the wait and takes the candidate out of line.
   */
  campaign(value: Bytes, options: { signal?: AbortSignal } = {}): Promise<LeaderKey> {
    const run = this.runCampaign(value, options);
    this.clientClosing?.track(run);
    return run;
  }

  private async runCampaign(value: Bytes, options: { signal?: AbortSignal }): Promise<LeaderKey> {
    const closing = this.clientClosing?.signal;
    if (closing?.aborted) throw this.connection.cancelled('cairn client: closed');
    if (this.leadership) {
      await this.proclaim(value);
      return this.leadership.key;
    }
    if (this.campaigning) {
      throw new ClientError(
        ErrorCode.INVALID_ARGUMENT,
        'a campaign of this election is already waiting',
        3,
        false,
      );
    }
    const campaigning = new AbortController();
    this.campaigning = campaigning;
    const session = await this.sessionFor().catch((err: unknown) => {
      this.campaigning = undefined;
      throw err;
    });
    // The session ends (lost, or closed by its owner): its key is gone, so is the campaign.
    let sessionLost = false;
    void session.done.then(() => {
      sessionLost = true;
      campaigning.abort();
    });
    const signals = [campaigning.signal, options.signal, closing].filter((x) => x !== undefined);
    const signal = signals.length === 1 ? campaigning.signal : AbortSignal.any(signals);
    try {
      const r = await waitingCall(
        this.connection,
        'Election',
        'Campaign',
        () => ({ name: this.name, lease: session.leaseId, value: toBytes(value) }),
        { waitTimeoutMs: 0, signal, timedOut: notLeader },
      );
      const w = r.leader;
      const key: LeaderKey = {
        name: w.name as Buffer,
        key: w.key as Buffer,
        rev: Number(w.rev),
        lease: Number(w.lease),
      };
      this.becomeLeader(key, session);
      return key;
    } catch (err) {
      // The server takes the key out of line when the call ends, unless its member died first.
      await this.deleteKey(session).catch(() => undefined);
      if (closing?.aborted && !options.signal?.aborted)
        throw this.connection.cancelled('cairn client: closed');
      if (sessionLost && !options.signal?.aborted) throw notLeader();
      throw err;
    } finally {
      this.campaigning = undefined;
    }
  }

  private becomeLeader(key: LeaderKey, session: Session): void {
    const leadership = { key, controller: new AbortController() };
    this.leadership = leadership;
    void session.done.then(() => {
      if (this.leadership === leadership) this.endLeadership(notLeader());
    });
  }

  private endLeadership(reason: ClientError): void {
    const l = this.leadership;
    if (!l) return;
    this.leadership = undefined;
    l.controller.abort(reason);
  }

  private async deleteKey(session: Session): Promise<void> {
    const key = Buffer.concat([this.name, Buffer.from(`/${session.leaseId.toString(16)}`)]);
    await this.connection.unary('KV', 'DeleteRange', { key }, { idempotent: true, leader: true });
  }

  /** Announces a new value without a new election; ELECTION_NOT_LEADER when this process does not lead. */
  async proclaim(value: Bytes, options: CallOptions = {}): Promise<void> {
    const l = this.leadership;
    if (!l) throw notLeader();
    try {
      // A guarded put of the same value: repeating it changes nothing but the key's version.
      await this.connection.unary(
        'Election',
        'Proclaim',
        { leader: leaderKeyToWire(l.key), value: toBytes(value) },
        { idempotent: true, leader: true, ...options },
      );
    } catch (err) {
      if (isClientError(err, ErrorCode.ELECTION_NOT_LEADER)) this.endLeadership(err);
      throw err;
    }
  }

  /** The current leader's key and value; undefined when nobody leads. */
  async leader(options: CallOptions = {}): Promise<KeyValue | undefined> {
    try {
      const r = await this.connection.unary(
        'Election',
        'Leader',
        { name: this.name },
        { idempotent: true, ...options },
      );
      return r.kv ? keyValueOf(r.kv) : undefined;
    } catch (err) {
      if (isClientError(err, ErrorCode.ELECTION_NO_LEADER)) return undefined;
      throw err;
    }
  }

  /**
   * The leader's key-value now and after every change (each proclaimed value, each new
   * leader), across reconnects to other members; iterate it, close() it when done.
   */
  observe(options: { signal?: AbortSignal; bufferedMax?: number } = {}): ElectionObserver {
    return new ElectionObserver(this.connection, this.name, options);
  }

  /**
   * Gives up leadership (the next candidate takes over) or stops a waiting campaign; then
   * ends a session the Election started. A leadership already gone is fine.
   */
  async resign(options: CallOptions = {}): Promise<void> {
    this.campaigning?.abort();
    const l = this.leadership;
    if (l) {
      this.endLeadership(new ClientError(ErrorCode.CANCELLED, 'election: resigned', 1, false));
      // A delete guarded by the key's create revision: repeatable, and harmless once gone.
      await this.connection.unary(
        'Election',
        'Resign',
        { leader: leaderKeyToWire(l.key) },
        { idempotent: true, leader: true, ...options },
      );
    }
    if (this.ownsSession && this.session) {
      const s = this.session;
      this.session = undefined;
      await s.close();
    }
  }
}
