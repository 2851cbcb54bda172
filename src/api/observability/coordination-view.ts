/**
 * What the coordination recipes hold right now, read from this member's own store (a
 * serializable read: no raft round, so a scrape or a dashboard tick never waits on quorum):
 * locks with their holder and line, registered service instances, and transaction records.
 * One bounded scan of the key space serves the metrics and the dashboard. A key outside the
 * registry and transaction prefixes whose last segment is a lease id in hex is a lock
 * participant (the Mutex layout; etcd elections share it, and show up as locks too).
 */

import { lockNameOf, participantOf } from '../../coordination/lock-queries.js';
import type { Instance } from '../../coordination/membership-records.js';
import { MEMBERS_PREFIX, parseInstance } from '../../coordination/membership-records.js';
import { type StoredTxn, storedFrom, TXN_PREFIX } from '../../coordination/txn-record.js';
import type { MvccStore } from '../../mvcc/index.js';

/** Most keys one view scans; a larger store shows a partial view, flagged `truncated`. */
export const VIEW_KEYS_SCANNED_MAX = 100_000;

/** One participant in a lock's line. */
export interface ViewParticipant {
  /** The key's value (the owner description), as text. */
  readonly owner: string;
  readonly leaseId: number;
  /** The fencing token: the key's create revision. */
  readonly fencingToken: number;
}

/** One lock: holder first, then the waiters in the order they will hold it. */
export interface ViewLock {
  readonly name: string;
  readonly holder: ViewParticipant;
  readonly waiters: readonly ViewParticipant[];
}

/** Everything the view found. */
export interface CoordinationView {
  readonly revision: number;
  readonly locks: readonly ViewLock[];
  readonly instances: readonly Instance[];
  readonly transactions: readonly StoredTxn[];
  /** Whether the scan stopped at VIEW_KEYS_SCANNED_MAX keys. */
  readonly truncated: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MEMBERS = encoder.encode(MEMBERS_PREFIX);
const TXNS = encoder.encode(TXN_PREFIX);

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/** Reads the coordination state from a store, locally. */
export function readCoordinationView(store: MvccStore, keysMax = VIEW_KEYS_SCANNED_MAX): CoordinationView {
  const r = store.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), limit: keysMax });
  const lines = new Map<string, ViewParticipant[]>();
  const instances: Instance[] = [];
  const transactions: StoredTxn[] = [];
  for (const kv of r.kvs) {
    if (startsWith(kv.key, MEMBERS)) {
      const i = parseInstance(kv);
      if (i) instances.push(i);
      continue;
    }
    if (startsWith(kv.key, TXNS)) {
      const t = storedFrom(kv);
      if (t) transactions.push(t);
      continue;
    }
    const name = lockNameOf(kv.key);
    if (!name) continue;
    const p = participantOf(kv);
    const id = decoder.decode(name);
    const line = lines.get(id) ?? [];
    line.push({ owner: decoder.decode(p.owner), leaseId: p.leaseId, fencingToken: p.createRevision });
    lines.set(id, line);
  }
  const locks: ViewLock[] = [];
  for (const [name, line] of lines) {
    line.sort((a, b) => a.fencingToken - b.fencingToken);
    locks.push({ name, holder: line[0]!, waiters: line.slice(1) });
  }
  locks.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { revision: r.header.revision, locks, instances, transactions, truncated: r.more };
}
