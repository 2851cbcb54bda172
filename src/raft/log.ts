/** The raft log: persisted entries (Storage) plus the unstable tail, with commit and apply indexes (thesis 3.5). */
import { assert } from '../common/assert.js';
import { ErrorCode, isCairnError } from '../common/errors.js';
import { compactedError, limitSize, type Storage, unavailableError } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';

/** The log as one sequence of entries, whatever part of it is already on disk. */
export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be committed. Invariant: applied <= applying <= committed <= lastIndex(). */
  committed: number;
  /** Highest index handed to the application in a Ready (being applied). */
  applying: number;
  /** Highest index the application has applied. */
  applied: number;

  constructor(
    readonly storage: Storage,
    readonly committedSizeBytesPerReadyMax: number,
  ) {
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // The state machine (and the configuration) restart from the snapshot, which may be newer
    // than the compaction point when catch-up entries are kept behind it: entries up to the
    // snapshot index must not be applied again.
    const restartIndex = Math.max(storage.firstIndex() - 1, storage.snapshot().metadata.index);
    this.committed = restartIndex;
    this.applying = restartIndex;
    this.applied = restartIndex;
  }

  /** The first index that is in the log (not compacted). */
  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /** The last index in the log. */
  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term of the last entry. */
  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** The term of entry i; throws COMPACTED/UNAVAILABLE outside [firstIndex-1, lastIndex]. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw compactedError(i);
    if (i > this.lastIndex()) throw unavailableError(i);
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /** The term of entry i, or 0 where the log does not know it (compacted or beyond the end). */
  termOrZero(i: number): number {
    // Checked here first: a follower asks this for every new entry of every append, and a
    // thrown error (its stack captured) cost more than the rest of the lookup.
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return 0;
    try {
      return this.term(i);
    } catch (err) {
      if (isCairnError(err, ErrorCode.COMPACTED) || isCairnError(err, ErrorCode.UNAVAILABLE)) return 0;
      throw err;
    }
  }

  /** Whether entry i exists with the given term. */
  matchTerm(i: number, term: number): boolean {
    return this.termOrZero(i) === term;
  }

  /**
   * A follower's append: if the leader's previous entry matches, appends (truncating a
   * conflicting suffix), commits up to min(commit, last new index) and returns the last new
   * index; otherwise undefined.
   */
  maybeAppend(index: number, logTerm: number, commit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      assert(
        conflict > this.committed,
        () => `entry ${conflict} conflicts with committed entry [committed(${this.committed})]`,
      );
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Appends entries at the end (the leader's own proposals) or over a conflicting suffix. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    assert(after >= this.committed, () => `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry that is new or conflicts with the log; 0 if all are present. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index at or below `index` whose term is at most `term`, and that term: used
   * to skip a whole conflicting term per round trip when backtracking (fast log backtracking).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      let ourTerm: number;
      try {
        ourTerm = this.term(index);
      } catch {
        return { index, term: 0 };
      }
      if (ourTerm <= term) return { index, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  /** Entries not yet persisted. */
  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  /** Whether a snapshot waits to be persisted and applied (then no entries are handed out for applying). */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed out for applying, up to the per-Ready byte budget. */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applying + 1, this.firstIndex());
    const hi = this.committed + 1;
    if (hi <= lo) return [];
    return this.slice(lo, hi, this.committedSizeBytesPerReadyMax);
  }

  /** Whether nextCommittedEntries() would return anything. */
  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed + 1 > Math.max(this.applying + 1, this.firstIndex());
  }

  /** The newest snapshot: the pending one, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Raises the commit index. */
  commitTo(toCommit: number): void {
    if (this.committed >= toCommit) return;
    assert(
      this.lastIndex() >= toCommit,
      () => `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]`,
    );
    this.committed = toCommit;
  }

  /** Records that entries up to i were handed to the application. */
  applyingTo(i: number): void {
    assert(i <= this.committed, () => `applying(${i}) beyond committed(${this.committed})`);
    this.applying = Math.max(this.applying, i);
  }

  /** Records that the application applied up to i. */
  appliedTo(i: number): void {
    if (i === 0) return;
    assert(
      this.committed >= i && i >= this.applied,
      () => `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
    );
    this.applied = i;
    this.applying = Math.max(this.applying, i);
  }

  /** Marks entries up to (i, term) as persisted. */
  stableTo(i: number, term: number): void {
    this.unstable.stableTo(i, term);
  }

  /** Marks the pending snapshot as persisted. */
  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** Commits up to maxIndex if that entry is of the given term (the current-term commit rule, thesis 3.6.2). */
  maybeCommit(maxIndex: number, term: number, ignoreTerm = false): boolean {
    if (maxIndex > this.committed && (ignoreTerm || this.termOrZero(maxIndex) === term)) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Replaces the log with a snapshot from the leader. */
  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Whether a log ending at (lastIndex, lastTerm) is at least as up to date as ours (thesis 3.6.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries from i to the end, up to maxSizeBytes (at least one). */
  entries(i: number, maxSizeBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSizeBytes);
  }

  /** Entries in [lo, hi) up to maxSizeBytes (at least one); throws COMPACTED below the first index. */
  slice(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    assert(lo <= hi, () => `invalid slice ${lo} > ${hi}`);
    if (lo < this.firstIndex()) throw compactedError(lo);
    assert(
      hi <= this.lastIndex() + 1,
      () => `slice[${lo},${hi}) out of bound [${this.firstIndex()},${this.lastIndex()}]`,
    );
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const uOff = this.unstable.offset;
    if (lo < uOff) {
      const stored = this.storage.entries(lo, Math.min(hi, uOff), maxSizeBytes);
      // Storage returned fewer than asked (size limit): done.
      if (stored.length < Math.min(hi, uOff) - lo) return stored;
      ents = stored;
    }
    if (hi > uOff) {
      const u = this.unstable.slice(Math.max(lo, uOff), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSizeBytes);
  }
}
