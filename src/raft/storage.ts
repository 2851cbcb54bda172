/**
 * The raft core's read-only view of stable storage, and an in-memory implementation.
 * Synchronous by design: the driver keeps the stable log since the last snapshot in a
 * MemoryStorage and persists it elsewhere (LevelDB) before calling append().
 */
import { assert } from '../common/assert.js';
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  type ConfState,
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  type Entry,
  EntryType,
  type HardState,
  type Snapshot,
} from './types.js';

/** What the core reads from stable storage. Errors: COMPACTED, UNAVAILABLE, SNAPSHOT_TEMPORARILY_UNAVAILABLE. */
export interface Storage {
  /** The persisted hard state and configuration at start-up. */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one even if larger than maxSizeBytes. */
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[];
  /** The term of the entry at index i; i may be firstIndex()-1 (the snapshot's term). */
  term(i: number): number;
  /** The index of the last entry in the log (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** The index of the first entry that may be available (snapshot index + 1). */
  firstIndex(): number;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/** Approximate encoded size of an entry, used for every byte limit in the core. */
export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + 24;
}

/** Total size of entries, for byte limits. */
export function entriesSizeBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += entrySizeBytes(e);
  return total;
}

/** Returns the longest prefix of entries whose size stays within maxSizeBytes (never empty if the input is not). */
export function limitSize(entries: Entry[], maxSizeBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entrySizeBytes(entries[0]!);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entrySizeBytes(entries[n]!);
    if (size > maxSizeBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/** The storage error for entries that were compacted away. */
export function compactedError(index: number): CairnError {
  return new CairnError(ErrorCode.COMPACTED, `requested index ${index} is unavailable due to compaction`);
}

/** The storage error for entries not yet present. */
export function unavailableError(index: number): CairnError {
  return new CairnError(ErrorCode.UNAVAILABLE, `requested entry at index ${index} is unavailable`);
}

/**
 * Storage kept in memory: the snapshot plus every entry after it. Used by tests and the
 * simulator as the whole disk, and by the node as the cache in front of LevelDB.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  /**
   * Invariant: ents[0] is a dummy entry at the snapshot's index and term; ents[i].index ===
   * ents[0].index + i.
   */
  private ents: Entry[];

  constructor(confState: ConfState = EMPTY_CONF_STATE) {
    this.snap = { metadata: { index: 0, term: 0, confState }, data: new Uint8Array(0) };
    this.ents = [{ index: 0, term: 0, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  /** @inheritdoc */
  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  /** Records the hard state the driver persisted. */
  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  /** @inheritdoc */
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw compactedError(lo);
    if (hi > this.lastIndex() + 1) throw unavailableError(hi - 1);
    assert(lo <= hi, () => `entries: lo ${lo} > hi ${hi}`);
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSizeBytes);
  }

  /** @inheritdoc */
  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw compactedError(i);
    if (i - offset >= this.ents.length) throw unavailableError(i);
    return this.ents[i - offset]!.term;
  }

  /** @inheritdoc */
  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  /** @inheritdoc */
  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  /** @inheritdoc */
  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces everything with the snapshot (a follower installing one). Older snapshots are ignored. */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) return;
    this.snap = snap;
    this.ents = [
      {
        index: snap.metadata.index,
        term: snap.metadata.term,
        type: EntryType.Normal,
        data: new Uint8Array(0),
      },
    ];
  }

  /**
   * Records a snapshot of the state machine at index i (i <= lastIndex) without touching the
   * log; compact() then drops what it covers.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) return this.snap;
    assert(i <= this.lastIndex(), () => `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { metadata: { index: i, term: this.term(i), confState }, data };
    return this.snap;
  }

  /** The data bytes of the entries after index (index >= the snapshot's index). */
  dataBytesAfter(index: number): number {
    const offset = this.ents[0]!.index;
    assert(index >= offset, () => `dataBytesAfter: ${index} is below the snapshot at ${offset}`);
    let bytes = 0;
    for (let i = index - offset + 1; i < this.ents.length; i++) bytes += this.ents[i]!.data.byteLength;
    return bytes;
  }

  /**
   * The index to compact up to so that the entries kept up to upTo are at most entriesMax in
   * number and bytesMax in data bytes (the newest kept first); upTo itself when none fit.
   */
  compactIndexKeeping(upTo: number, entriesMax: number, bytesMax: number): number {
    const offset = this.ents[0]!.index;
    assert(
      upTo >= offset && upTo <= this.lastIndex(),
      () => `compactIndexKeeping: ${upTo} is not in the log`,
    );
    let i = upTo;
    let bytes = 0;
    while (i > offset && upTo - i < entriesMax) {
      const b = this.ents[i - offset]!.data.byteLength;
      if (bytes + b > bytesMax) break;
      bytes += b;
      i--;
    }
    return i;
  }

  /** Drops entries up to and including compactIndex, which must be at or below the last index. */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) return;
    assert(compactIndex <= this.lastIndex(), () => `compact ${compactIndex} beyond last ${this.lastIndex()}`);
    const i = compactIndex - offset;
    const dummy: Entry = {
      index: compactIndex,
      term: this.ents[i]!.term,
      type: EntryType.Normal,
      data: new Uint8Array(0),
    };
    this.ents = [dummy, ...this.ents.slice(i + 1)];
  }

  /** Appends entries the driver persisted, truncating any conflicting suffix. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // all already compacted
    const toAppend = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = toAppend[0]!.index - this.ents[0]!.index;
    assert(
      offset <= this.ents.length,
      () => `missing log entry [last: ${this.lastIndex()}, append at: ${toAppend[0]!.index}]`,
    );
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of toAppend) this.ents.push(e);
  }
}
