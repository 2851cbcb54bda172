/**
 * Proves MemoryStorage's accounting for bounded compaction: the data bytes held after an
 * index, and the compaction point that keeps at most so many entries and so many bytes (the
 * newest first), never reaching below the log's start.
 */
import { describe, expect, test } from 'vitest';
import { type Entry, EntryType, MemoryStorage } from '../../src/raft/index.js';

/** Entries from index 1 on, each with `sizes[i]` data bytes. */
function entriesOf(sizes: readonly number[]): Entry[] {
  return sizes.map((n, i) => ({ index: i + 1, term: 1, type: EntryType.Normal, data: new Uint8Array(n) }));
}

describe('MemoryStorage byte accounting', () => {
  test('counts the data bytes after an index', () => {
    const s = new MemoryStorage();
    s.append(entriesOf([10, 20, 30, 40]));
    expect(s.dataBytesAfter(0)).toBe(100);
    expect(s.dataBytesAfter(2)).toBe(70);
    expect(s.dataBytesAfter(4)).toBe(0);
    s.compact(2);
    expect(s.dataBytesAfter(2)).toBe(70);
    expect(() => s.dataBytesAfter(1)).toThrow(/below the snapshot/);
  });

  test('keeps the newest entries within both the count and the byte bound', () => {
    const s = new MemoryStorage();
    s.append(entriesOf([100, 100, 100, 100, 100, 100]));
    // Count bound: 2 entries kept up to 5 -> compact to 3.
    expect(s.compactIndexKeeping(5, 2, Number.POSITIVE_INFINITY)).toBe(3);
    // Byte bound: 250 bytes hold two 100-byte entries up to 6 -> compact to 4.
    expect(s.compactIndexKeeping(6, 1_000, 250)).toBe(4);
    // The tighter of the two wins.
    expect(s.compactIndexKeeping(6, 1, 250)).toBe(5);
    // An entry larger than the byte bound keeps nothing.
    expect(s.compactIndexKeeping(6, 1_000, 99)).toBe(6);
    // Never below the log's start.
    expect(s.compactIndexKeeping(6, 1_000, Number.POSITIVE_INFINITY)).toBe(0);
    s.compact(3);
    expect(s.compactIndexKeeping(6, 1_000, Number.POSITIVE_INFINITY)).toBe(3);
    expect(() => s.compactIndexKeeping(7, 1, 1)).toThrow(/not in the log/);
  });
});
