/** Counts calls in flight per instance; the SDK brackets each call with begin(id) / end(id). */

/** Counts calls in flight per instance id; balancers may share one. */
export class InFlightCounter {
  private readonly counts = new Map<string, number>();

  /** Records that a call to `id` started. */
  begin(id: string): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** Records that a call to `id` finished; never goes below zero. */
  end(id: string): void {
    const n = (this.counts.get(id) ?? 0) - 1;
    if (n > 0) this.counts.set(id, n);
    else this.counts.delete(id);
  }

  /** Calls currently in flight to `id`. */
  get(id: string): number {
    return this.counts.get(id) ?? 0;
  }
}
