/**
 * The cluster's member registry as replicated state: who the members are (id, peer URLs,
 * learner or voter), which ids were removed for good, and the cluster id. It changes only
 * when a committed configuration change or MemberUpdate entry is applied, in log order, so
 * every member holds the same registry; it is persisted with the state machine and carried
 * in snapshots. The checks a proposer runs before proposing a change live here too, so that
 * they read the same state the change will be applied to.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { type ConfChange, ConfChangeType } from '../raft/index.js';

/** One member as the configuration records it (name and client URLs are published apart, see member-attributes.ts). */
export interface MemberRecord {
  readonly id: number;
  /** The founding name from --initial-cluster; '' for a member added at run time. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly isLearner: boolean;
}

/**
 * A founding member as this process knows it: the log's bootstrap configuration entries name
 * only ids (raft writes them), so their peer URLs come from the founding configuration (or,
 * for a member that joined later, from the member list its peers sent).
 */
export interface FoundingMember {
  readonly id: number;
  readonly name: string;
  readonly peerUrls: readonly string[];
}

/** The context of a membership configuration change: the peer URLs of the members it adds or promotes. */
export interface MemberChangeContext {
  readonly members: readonly { readonly id: number; readonly peerUrls: readonly string[] }[];
}

/** The payload of an EntryKind.MemberUpdate entry. */
export interface MemberUpdate {
  readonly id: number;
  readonly peerUrls: readonly string[];
}

/** The whole registry, as snapshots and the persisted meta record hold it. */
export interface RegistryState {
  readonly clusterId: number;
  readonly members: readonly MemberRecord[];
  readonly removed: readonly number[];
}

/** What the registry changed since the last take, for storage. */
export interface RegistryWrites {
  /** Everything was replaced (a snapshot was installed): `put` holds every member. */
  readonly replaced: boolean;
  readonly put: readonly MemberRecord[];
  readonly deleted: readonly number[];
  /** The cluster id and removed ids, when they changed. */
  readonly meta?: { readonly clusterId: number; readonly removed: readonly number[] };
}

/** etcd's default --experimental-max-learners. */
export const LEARNERS_MAX_DEFAULT = 1;

/** Whether peer URLs are usable: at least one, each http(s)://host:port with no path. */
export function validPeerUrls(urls: readonly string[]): boolean {
  if (urls.length === 0) return false;
  return urls.every((u) => {
    try {
      const p = new URL(u);
      return (
        (p.protocol === 'http:' || p.protocol === 'https:') &&
        p.port !== '' &&
        (p.pathname === '/' || p.pathname === '') &&
        p.search === ''
      );
    } catch {
      return false;
    }
  });
}

function err(code: ErrorCode, message: string): CairnError {
  return new CairnError(code, message);
}

/** The replicated member registry of one member. */
export class MemberRegistry {
  private readonly members = new Map<number, MemberRecord>();
  private readonly removedIds = new Set<number>();
  private clusterIdValue = 0;
  /** Not replicated: how to fill in a founding member that the log names by id only. */
  private readonly founders = new Map<number, FoundingMember>();
  private readonly dirty = new Set<number>();
  private metaDirty = false;
  private replaced = false;
  /** Called after every applied change (the server re-aims the transport). */
  onChange: (() => void) | undefined;

  constructor(state?: RegistryState) {
    if (state) this.load(state);
  }

  /**
   * Tells the registry the founding members and the cluster id (from --initial-cluster, or
   * from the peers of a joining member). Sets the cluster id if the registry has none yet.
   */
  setFounders(clusterId: number, founders: readonly FoundingMember[]): void {
    for (const f of founders) this.founders.set(f.id, f);
    if (this.clusterIdValue === 0 && clusterId !== 0) {
      this.clusterIdValue = clusterId;
      this.metaDirty = true;
    }
  }

  /** The cluster's id (0 until known). */
  get clusterId(): number {
    return this.clusterIdValue;
  }

  /** Every member, by ascending id. */
  list(): MemberRecord[] {
    return [...this.members.values()].sort((a, b) => a.id - b.id);
  }

  /** One member, or undefined. */
  get(id: number): MemberRecord | undefined {
    return this.members.get(id);
  }

  /** Whether this id was removed from the cluster (it may never come back). */
  isRemoved(id: number): boolean {
    return this.removedIds.has(id);
  }

  /** The member that has any of these peer URLs, if one does. */
  findByPeerUrls(urls: readonly string[]): MemberRecord | undefined {
    return this.list().find((m) => m.peerUrls.some((u) => urls.includes(u)));
  }

  /** How many learners the cluster has. */
  get learnerCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.isLearner) n++;
    return n;
  }

  // ------------------------------------------------------------ checks before proposing

  /** Refuses an add (etcd's errors): bad URLs, URLs in use, too many learners. */
  checkAdd(peerUrls: readonly string[], isLearner: boolean, learnersMax = LEARNERS_MAX_DEFAULT): void {
    if (!validPeerUrls(peerUrls)) throw err(ErrorCode.MEMBER_BAD_URLS, 'given member URLs are invalid');
    if (this.findByPeerUrls(peerUrls)) throw err(ErrorCode.PEER_URL_EXISTS, 'peer URLs already exist');
    if (isLearner && this.learnerCount >= learnersMax)
      throw err(ErrorCode.TOO_MANY_LEARNERS, `the cluster has ${this.learnerCount} learner(s) already`);
  }

  /** Refuses an id that is or was a member. */
  checkNewId(id: number): void {
    if (this.members.has(id) || this.removedIds.has(id))
      throw err(ErrorCode.MEMBER_EXISTS, `member ${id.toString(16)} exists or was removed`);
  }

  /** Refuses removing a member the cluster does not have. */
  checkRemove(id: number): MemberRecord {
    const m = this.members.get(id);
    if (!m) throw err(ErrorCode.MEMBER_NOT_FOUND, `member ${id.toString(16)} not found`);
    return m;
  }

  /** Refuses promoting an unknown member or one that is not a learner. */
  checkPromote(id: number): MemberRecord {
    const m = this.checkRemove(id);
    if (!m.isLearner) throw err(ErrorCode.MEMBER_NOT_LEARNER, `member ${id.toString(16)} is not a learner`);
    return m;
  }

  /** Refuses updating an unknown member, bad URLs, or URLs another member has. */
  checkUpdate(id: number, peerUrls: readonly string[]): void {
    this.checkRemove(id);
    if (!validPeerUrls(peerUrls)) throw err(ErrorCode.MEMBER_BAD_URLS, 'given member URLs are invalid');
    const other = this.findByPeerUrls(peerUrls);
    if (other && other.id !== id) throw err(ErrorCode.PEER_URL_EXISTS, 'peer URLs already exist');
  }

  // ------------------------------------------------------------ apply (deterministic)

  /**
   * Applies a committed configuration change exactly as raft applied it, so the registry and
   * raft's configuration never disagree: AddNode adds a voter or promotes a learner,
   * AddLearnerNode adds a learner, RemoveNode removes a member for good. A member the change
   * names by id only (the founding entries raft writes) is filled in from the founders.
   */
  applyConfChange(cc: ConfChange, ctx: MemberChangeContext | undefined): void {
    let changed = false;
    for (const c of cc.changes) {
      const id = c.nodeId;
      const current = this.members.get(id);
      const given = ctx?.members.find((m) => m.id === id);
      const founder = this.founders.get(id);
      const peerUrls = given?.peerUrls ?? founder?.peerUrls ?? [];
      switch (c.type) {
        case ConfChangeType.AddNode:
        case ConfChangeType.AddLearnerNode: {
          const isLearner = c.type === ConfChangeType.AddLearnerNode;
          if (current) {
            if (current.isLearner !== isLearner) this.put({ ...current, isLearner });
          } else {
            this.removedIds.delete(id);
            this.put({ id, name: founder?.name ?? '', peerUrls: [...peerUrls], isLearner });
          }
          changed = true;
          break;
        }
        case ConfChangeType.RemoveNode:
          if (current || !this.removedIds.has(id)) {
            this.members.delete(id);
            this.dirty.add(id);
            this.removedIds.add(id);
            this.metaDirty = true;
            changed = true;
          }
          break;
      }
    }
    if (changed) this.onChange?.();
  }

  /** Applies a MemberUpdate entry: the refusal, if any, is the same on every member. */
  applyUpdate(u: MemberUpdate): CairnError | undefined {
    const current = this.members.get(u.id);
    if (!current) return err(ErrorCode.MEMBER_NOT_FOUND, `member ${u.id.toString(16)} not found`);
    if (!validPeerUrls(u.peerUrls)) return err(ErrorCode.MEMBER_BAD_URLS, 'given member URLs are invalid');
    const other = this.findByPeerUrls(u.peerUrls);
    if (other && other.id !== u.id) return err(ErrorCode.PEER_URL_EXISTS, 'peer URLs already exist');
    this.put({ ...current, peerUrls: [...u.peerUrls] });
    this.onChange?.();
    return undefined;
  }

  private put(m: MemberRecord): void {
    this.members.set(m.id, m);
    this.dirty.add(m.id);
  }

  // ------------------------------------------------------------ persistence and snapshots

  /** Takes what changed since the last call (undefined if nothing did). */
  takeWrites(): RegistryWrites | undefined {
    if (!this.replaced && this.dirty.size === 0 && !this.metaDirty) return undefined;
    const ids = this.replaced ? [...this.members.keys()] : [...this.dirty];
    const put = ids.map((id) => this.members.get(id)).filter((m): m is MemberRecord => m !== undefined);
    const deleted = this.replaced ? [] : ids.filter((id) => !this.members.has(id));
    const out: RegistryWrites = {
      replaced: this.replaced,
      put,
      deleted,
      ...(this.metaDirty || this.replaced
        ? { meta: { clusterId: this.clusterIdValue, removed: [...this.removedIds] } }
        : {}),
    };
    this.replaced = false;
    this.dirty.clear();
    this.metaDirty = false;
    return out;
  }

  /** The whole registry (for a snapshot). */
  state(): RegistryState {
    return { clusterId: this.clusterIdValue, members: this.list(), removed: [...this.removedIds].sort() };
  }

  /** Replaces the whole registry with a snapshot's (everything is written again). */
  restore(state: RegistryState): void {
    this.load(state);
    this.replaced = true;
    this.onChange?.();
  }

  private load(state: RegistryState): void {
    this.members.clear();
    this.removedIds.clear();
    for (const m of state.members) this.members.set(m.id, m);
    for (const id of state.removed) this.removedIds.add(id);
    if (state.clusterId !== 0) this.clusterIdValue = state.clusterId;
    this.dirty.clear();
    this.metaDirty = false;
  }
}
