/** Promises that resolve once the state machine has applied a given raft index. */

/** Lets callers wait until applied >= index (reads after a ReadIndex, tests, member publish). */
export class ApplyWaiters {
  private readonly byIndex = new Map<number, (() => void)[]>();
  /** Invariant: the highest index reported applied; never decreases. */
  private appliedIndex = 0;

  /** The highest index applied so far. */
  get applied(): number {
    return this.appliedIndex;
  }

  /** Resolves once applied >= index (at once if it already is). */
  wait(index: number): Promise<void> {
    if (index <= this.appliedIndex) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.byIndex.get(index);
      if (list) list.push(resolve);
      else this.byIndex.set(index, [resolve]);
    });
  }

  /** Records progress and wakes every waiter it satisfies. */
  markApplied(index: number): void {
    if (index <= this.appliedIndex) return;
    this.appliedIndex = index;
    for (const [i, list] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      for (const r of list) r();
    }
  }
}
