/**
 * Key order and etcd's key-range convention: keys compare bytewise; a range is [key, end)
 * where an empty end means the single key and the one-byte end "\0" means no upper bound.
 */

/** Bytewise order of keys (as Go's bytes.Compare): negative, zero or positive. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Whether two byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** A key range as the store walks it: the single key, [key, end), or every key from key on. */
export type KeyRange =
  | { readonly kind: 'single'; readonly key: Uint8Array }
  | { readonly kind: 'interval'; readonly key: Uint8Array; readonly end: Uint8Array }
  | { readonly kind: 'from'; readonly key: Uint8Array };

/** Reads etcd's (key, range_end) pair. */
export function keyRangeOf(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange {
  if (rangeEnd === undefined || rangeEnd.length === 0) return { kind: 'single', key };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: 'from', key };
  return { kind: 'interval', key, end: rangeEnd };
}
