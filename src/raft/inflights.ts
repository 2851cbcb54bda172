/** The bounded window of append messages in flight to one follower (thesis 10.2.1, pipelining). */
import { assert } from '../common/assert.js';

/**
 * A FIFO of the last index of each append in flight to a follower. When it is full the
 * leader stops sending appends to that follower until responses free slots: this is what
 * bounds memory and network use per slow follower.
 */
export class Inflights {
  /** Invariant: indexes are strictly increasing from head to tail. */
  private readonly indexes: number[] = [];
  private head = 0;

  constructor(readonly capacityMessages: number) {
    assert(capacityMessages > 0, 'inflights capacity must be positive');
  }

  /** Number of appends in flight. */
  get count(): number {
    return this.indexes.length - this.head;
  }

  /** Whether no more appends may be sent. */
  full(): boolean {
    return this.count >= this.capacityMessages;
  }

  /** Records an append whose last entry is at index. */
  add(index: number): void {
    assert(!this.full(), 'cannot add into a full inflights window');
    const last = this.indexes[this.indexes.length - 1];
    assert(
      this.count === 0 || last === undefined || index > last,
      () => `inflights out of order: ${index} after ${last}`,
    );
    this.indexes.push(index);
  }

  /** Frees every append whose last index is at or below index (they were acknowledged). */
  freeLE(index: number): void {
    while (this.head < this.indexes.length && this.indexes[this.head]! <= index) this.head++;
    this.compactStorage();
  }

  /** Frees the oldest append (a heartbeat response shows the follower is alive). */
  freeFirstOne(): void {
    if (this.count > 0) this.head++;
    this.compactStorage();
  }

  /** Forgets everything in flight. */
  reset(): void {
    this.indexes.length = 0;
    this.head = 0;
  }

  private compactStorage(): void {
    if (this.head === this.indexes.length) {
      this.reset();
    } else if (this.head > 64 && this.head * 2 > this.indexes.length) {
      this.indexes.splice(0, this.head);
      this.head = 0;
    }
  }
}
