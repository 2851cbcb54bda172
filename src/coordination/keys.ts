/**
 * The key layout of etcd's clientv3 concurrency package, which etcdctl's lock and elect use:
 * a participant's key is `<name>/<lease id in lowercase hex>`, and the participants of one
 * name are ordered by their keys' create revisions. Sharing the layout is what makes Cairn's
 * Lock and Election services and etcd clients exclude each other.
 */
import {
  type Compare,
  CompareResult,
  CompareTarget,
  type RangeRequest,
  SortOrder,
  SortTarget,
} from '../mvcc/index.js';

const encoder = new TextEncoder();

/** Concatenates byte strings. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The prefix every participant key of `name` starts with: `<name>/`. */
export function participantPrefix(name: Uint8Array): Uint8Array {
  return concatBytes(name, encoder.encode('/'));
}

/** The key a lease holds under `name`: `<name>/<lease id in lowercase hex>` (Go's %x of the id). */
export function participantKey(name: Uint8Array, leaseId: number): Uint8Array {
  return concatBytes(participantPrefix(name), encoder.encode(leaseId.toString(16)));
}

/**
 * The range end that makes [prefix, end) cover every key starting with prefix (etcd's
 * GetPrefixRangeEnd): the prefix with its last byte below 0xff raised by one and what follows
 * dropped; "\0" (no upper bound) when every byte is 0xff.
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.byteLength - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      // A copy (a Buffer's slice would be a view, and raising its last byte would change prefix).
      const end = Uint8Array.from(prefix.subarray(0, i + 1));
      end[i] = prefix[i]! + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/**
 * The prefix of a Mutex participant's key (`<name>/` of `<name>/<lease hex>`), or undefined
 * for any other key (a read-write lock's `read-`/`write-` keys, a semaphore's `sem-` keys).
 */
export function mutexPrefixOf(key: Uint8Array): Uint8Array | undefined {
  const slash = key.lastIndexOf(0x2f);
  if (slash < 0 || slash === key.byteLength - 1) return undefined;
  for (let i = slash + 1; i < key.byteLength; i++) {
    const c = key[i]!;
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
    if (!hex) return undefined;
  }
  return key.subarray(0, slash + 1);
}

/** The oldest key under prefix, by create revision (clientv3's WithFirstCreate). */
export function firstCreated(prefix: Uint8Array): RangeRequest {
  return {
    key: prefix,
    rangeEnd: prefixRangeEnd(prefix),
    sortTarget: SortTarget.Create,
    sortOrder: SortOrder.Ascend,
    limit: 1,
  };
}

/**
 * The newest key under prefix created at or before maxCreateRevision (clientv3's
 * WithLastCreate and WithMaxCreateRev): the participant just ahead of one created later.
 */
export function lastCreatedBefore(prefix: Uint8Array, maxCreateRevision: number): RangeRequest {
  return {
    key: prefix,
    rangeEnd: prefixRangeEnd(prefix),
    sortTarget: SortTarget.Create,
    sortOrder: SortOrder.Descend,
    maxCreateRevision,
    limit: 1,
  };
}

/** A Txn compare: the key's create revision equals revision (0: the key does not exist). */
export function createRevisionIs(key: Uint8Array, revision: number): Compare {
  return { key, target: CompareTarget.Create, result: CompareResult.Equal, createRevision: revision };
}
