/**
 * Whether a set of key permissions covers a requested key range, with etcd's range
 * semantics on both sides: an empty range end is the single key, "\0" is every key from the
 * key on, and anything else is [key, rangeEnd). A request range is allowed only if the union
 * of the permitted intervals contains all of it (two adjacent grants together cover a range
 * neither covers alone, as etcd's interval tree does).
 */
import { type Access, type Permission, PermType } from './types.js';

/** A half-open interval [start, end) of keys; end undefined means no upper bound. */
interface Interval {
  readonly start: Uint8Array;
  readonly end: Uint8Array | undefined;
}

/** Byte-wise comparison of keys, as the store orders them. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.byteLength - b.byteLength;
}

/** The key right after `key` in byte order: key + "\0" (so [key, next) holds the key alone). */
function nextKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.byteLength + 1);
  out.set(key, 0);
  return out;
}

function isFromKey(rangeEnd: Uint8Array): boolean {
  return rangeEnd.byteLength === 1 && rangeEnd[0] === 0;
}

/** The interval a (key, rangeEnd) pair stands for, or undefined when it is empty ([a, b) with b <= a). */
export function intervalOf(key: Uint8Array, rangeEnd: Uint8Array | undefined): Interval | undefined {
  if (rangeEnd === undefined || rangeEnd.byteLength === 0) return { start: key, end: nextKey(key) };
  if (isFromKey(rangeEnd)) return { start: key, end: undefined };
  if (compareKeys(rangeEnd, key) <= 0) return undefined;
  return { start: key, end: rangeEnd };
}

function grants(permType: PermType, access: Access): boolean {
  if (permType === PermType.READWRITE) return true;
  return access === 'read' ? permType === PermType.READ : permType === PermType.WRITE;
}

/** end a >= end b, where undefined is +infinity. */
function endCovers(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return false;
  return compareKeys(a, b) >= 0;
}

/**
 * Whether `permissions` grant `access` on [key, rangeEnd). An empty request range (end at
 * or before key) is checked as the key alone.
 */
export function permits(
  permissions: readonly Permission[],
  access: Access,
  key: Uint8Array,
  rangeEnd?: Uint8Array,
): boolean {
  const want = intervalOf(key, rangeEnd) ?? intervalOf(key, undefined)!;
  const granted = permissions
    .filter((p) => grants(p.permType, access))
    .map((p) => intervalOf(p.key, p.rangeEnd))
    .filter((i): i is Interval => i !== undefined)
    .sort((a, b) => compareKeys(a.start, b.start));
  // The union covers [want.start, reach) unbroken; walk the intervals by start, extending it.
  let reach: Uint8Array | undefined = want.start;
  for (const i of granted) {
    if (reach === undefined) break;
    if (!endAfter(i.end, reach)) continue; // adds nothing beyond reach
    if (compareKeys(i.start, reach) > 0) break; // a gap
    reach = i.end;
  }
  return endCovers(reach, want.end);
}

/** end a > key b, where undefined is +infinity. */
function endAfter(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a === undefined || compareKeys(a, b) > 0;
}
