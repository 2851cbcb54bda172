/**
 * The safety checkers the simulator runs after every event: the five properties of the
 * Raft paper's Figure 3 plus linearizable reads. Each is a small class fed with
 * observations, so it can be tested on its own with hand-made bad histories.
 */

/** A broken safety property, with enough detail to read the trace around it. */
export interface Violation {
  readonly property:
    | 'ElectionSafety'
    | 'LeaderAppendOnly'
    | 'LogMatching'
    | 'LeaderCompleteness'
    | 'StateMachineSafety'
    | 'LinearizableRead'
    | 'LeaseExclusion'
    | 'Liveness'
    | 'Exception';
  readonly message: string;
}

/** At most one leader per term. */
export class ElectionSafety {
  private readonly leaderOfTerm = new Map<number, number>();

  /** A node claims leadership of a term. */
  observeLeader(term: number, id: number): Violation | undefined {
    const known = this.leaderOfTerm.get(term);
    if (known === undefined) {
      this.leaderOfTerm.set(term, id);
      return undefined;
    }
    if (known !== id)
      return { property: 'ElectionSafety', message: `term ${term} has two leaders: ${known} and ${id}` };
    return undefined;
  }
}

/** A leader never overwrites or deletes entries of its log during its term. */
export class LeaderAppendOnly {
  /** Per leader epoch (id/term): the last index seen and its term. */
  private readonly epochs = new Map<string, { lastIndex: number; lastTerm: number }>();

  /**
   * The leader's log tail as observed now; termAt gives its log's term at an index (0 if
   * compacted/absent). `leader` names one incarnation of a member: a member that crashed
   * before its term was durable may lead the same term again from scratch.
   */
  observe(
    leader: string,
    term: number,
    lastIndex: number,
    termAt: (i: number) => number,
    firstIndex: number,
  ): Violation | undefined {
    const key = `${leader}/${term}`;
    const prev = this.epochs.get(key);
    if (prev) {
      if (lastIndex < prev.lastIndex) {
        return {
          property: 'LeaderAppendOnly',
          message: `leader ${leader} (term ${term}) log shrank from ${prev.lastIndex} to ${lastIndex}`,
        };
      }
      // With Log Matching, an unchanged term at the old tail means the whole prefix is unchanged.
      if (prev.lastIndex >= firstIndex && termAt(prev.lastIndex) !== prev.lastTerm) {
        return {
          property: 'LeaderAppendOnly',
          message: `leader ${leader} (term ${term}) overwrote index ${prev.lastIndex}: term ${prev.lastTerm} -> ${termAt(prev.lastIndex)}`,
        };
      }
    }
    this.epochs.set(key, { lastIndex, lastTerm: termAt(lastIndex) });
    return undefined;
  }
}

/**
 * Two logs with an entry of the same index and term hold the same entry there and agree on
 * every entry before it. Checked inductively: each (index, term) has one content and one
 * predecessor term, across all nodes and all time.
 */
export class LogMatching {
  private readonly byIndexTerm = new Map<string, { content: string; prevTerm: number }>();

  /** A node persisted an entry whose predecessor in its log has prevTerm (-1 if unknown, e.g. after a snapshot). */
  observeEntry(
    node: number,
    index: number,
    term: number,
    content: string,
    prevTerm: number,
  ): Violation | undefined {
    const key = `${index}/${term}`;
    const known = this.byIndexTerm.get(key);
    if (!known) {
      this.byIndexTerm.set(key, { content, prevTerm });
      return undefined;
    }
    if (known.content !== content) {
      return {
        property: 'LogMatching',
        message: `node ${node}: entry ${index} (term ${term}) differs from another log's entry at the same index and term`,
      };
    }
    if (prevTerm >= 0 && known.prevTerm >= 0 && known.prevTerm !== prevTerm) {
      return {
        property: 'LogMatching',
        message: `node ${node}: entry ${index} (term ${term}) follows term ${prevTerm}, another log has it after term ${known.prevTerm}`,
      };
    }
    if (known.prevTerm < 0 && prevTerm >= 0) this.byIndexTerm.set(key, { content, prevTerm });
    return undefined;
  }
}

/** No two nodes apply different entries at the same index; also the source of "committed" for other checks. */
export class StateMachineSafety {
  /** Invariant: for each index, the (term, content) that was applied there first. */
  readonly applied = new Map<number, { term: number; content: string }>();
  /** The highest index applied anywhere. */
  highest = 0;

  /** A node applied an entry. */
  observeApply(node: number, index: number, term: number, content: string): Violation | undefined {
    const known = this.applied.get(index);
    if (!known) {
      this.applied.set(index, { term, content });
      if (index > this.highest) this.highest = index;
      return undefined;
    }
    if (known.term !== term || known.content !== content) {
      return {
        property: 'StateMachineSafety',
        message: `node ${node} applied (term ${term}) at index ${index}, another node applied (term ${known.term}) there`,
      };
    }
    return undefined;
  }
}

/** A new leader's log contains every entry committed before its term. */
export class LeaderCompleteness {
  constructor(private readonly sms: StateMachineSafety) {}

  /** A node just became leader of `term`; termAt reads its log, snapshotIndex is where its log starts. */
  observeNewLeader(
    id: number,
    term: number,
    lastIndex: number,
    snapshotIndex: number,
    termAt: (i: number) => number,
  ): Violation | undefined {
    // The highest committed entry from an earlier term: by Log Matching it stands for all before it.
    for (let i = this.sms.highest; i > 0; i--) {
      const c = this.sms.applied.get(i);
      if (!c || c.term >= term) continue;
      if (i <= snapshotIndex) return undefined;
      if (i > lastIndex || termAt(i) !== c.term) {
        return {
          property: 'LeaderCompleteness',
          message: `leader ${id} of term ${term} lacks committed entry ${i} (term ${c.term}); its log ends at ${lastIndex}`,
        };
      }
      return undefined;
    }
    return undefined;
  }
}

/** Every ReadIndex read sees every write acknowledged before the read began. */
export class LinearizableReads {
  /** Writes in the order their application was first observed (acknowledged). */
  readonly acked: string[] = [];
  private readonly ackedSet = new Set<string>();

  /** A write became visible (applied somewhere): from now on, every new read must see it. */
  observeAck(writeId: string): void {
    if (this.ackedSet.has(writeId)) return;
    this.ackedSet.add(writeId);
    this.acked.push(writeId);
  }

  /** How many writes a read issued now must see. */
  mark(): number {
    return this.acked.length;
  }

  /** A read issued at `mark` was served by a node whose state holds `has`. */
  observeRead(node: number, mark: number, has: (writeId: string) => boolean): Violation | undefined {
    for (let i = 0; i < mark; i++) {
      const w = this.acked[i]!;
      if (!has(w))
        return {
          property: 'LinearizableRead',
          message: `read served by node ${node} misses write ${w}, acknowledged before the read began`,
        };
    }
    return undefined;
  }
}
