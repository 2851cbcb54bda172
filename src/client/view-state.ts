/**
 * The pure core of a ServiceView: applies Subscribe messages (snapshot chunks, then one
 * message of changes per revision) to a map of instances and keeps the sorted list. No I/O,
 * so the ordering rules are tested without a stream: a snapshot replaces everything at once
 * when its last chunk arrives (instances removed while the view was away do not linger), and
 * changes at or below the revision already applied are ignored (a resume never applies one
 * twice).
 */
import type { Wire } from './connection.js';
import { CHANGE_TYPE_DELETE, instanceOf, type ServiceInstance } from './registry-types.js';

function keyOf(i: ServiceInstance): string {
  return `${i.service}\u0000${i.id}`;
}

function byServiceThenId(a: ServiceInstance, b: ServiceInstance): number {
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

/** Instances of a subscription as of `revision`, sorted by service then id. */
export class ViewState {
  private byKey = new Map<string, ServiceInstance>();
  /** Chunks of a snapshot not finished yet; undefined when none is being received. */
  private pending: Map<string, ServiceInstance> | undefined;
  private sorted: readonly ServiceInstance[] = [];
  /** Invariant: every change up to this revision is applied; 0 until the first snapshot completes. */
  private appliedRevision = 0;

  /** The last revision applied (0: no snapshot yet). */
  get revision(): number {
    return this.appliedRevision;
  }

  /** Whether a snapshot has been applied. */
  get ready(): boolean {
    return this.appliedRevision > 0;
  }

  /** The instances, sorted by service then id (a new array after every change). */
  get instances(): readonly ServiceInstance[] {
    return this.sorted;
  }

  /** Drops a snapshot cut off mid-way; the next stream starts a new one. */
  abandonSnapshot(): void {
    this.pending = undefined;
  }

  /** Applies one SubscribeResponse; answers whether the visible list changed. */
  apply(message: Wire): boolean {
    const revision = Number(message.revision ?? 0);
    const snapshot = (message.snapshot ?? []) as Wire[];
    const changes = (message.changes ?? []) as Wire[];
    if (snapshot.length > 0 || message.snapshot_done === true) {
      this.pending ??= new Map();
      for (const w of snapshot) {
        const i = instanceOf(w);
        this.pending.set(keyOf(i), i);
      }
      if (message.snapshot_done !== true) return false;
      const before = this.sorted;
      this.byKey = this.pending;
      this.pending = undefined;
      this.appliedRevision = revision;
      this.resort();
      return !sameList(before, this.sorted);
    }
    if (changes.length === 0 || revision <= this.appliedRevision || !this.ready) return false;
    for (const c of changes) {
      const i = instanceOf(c.instance ?? {});
      if (Number(c.type) === CHANGE_TYPE_DELETE) this.byKey.delete(keyOf(i));
      else this.byKey.set(keyOf(i), i);
    }
    this.appliedRevision = revision;
    this.resort();
    return true;
  }

  private resort(): void {
    this.sorted = Object.freeze([...this.byKey.values()].sort(byServiceThenId));
  }
}

/** Whether two sorted lists hold the same records (same keys at the same record revisions and states). */
function sameList(a: readonly ServiceInstance[], b: readonly ServiceInstance[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, n) => {
    const y = b[n] as ServiceInstance;
    return keyOf(x) === keyOf(y) && x.updatedAtRevision === y.updatedAtRevision && x.state === y.state;
  });
}
