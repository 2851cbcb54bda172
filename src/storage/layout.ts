/**
 * The LevelDB key layout of a member's data folder. One keyspace, one byte of prefix per
 * kind, so that a single synced batch can change any of them atomically:
 *   'L' + index (u64 big-endian) -> a raft log entry (checksummed, entry-codec.ts)
 *   'H'                          -> the hard state (term, vote, commit)
 *   'S'                          -> the snapshot's metadata (index, term, configuration)
 *   'D'                          -> the snapshot's data: only in folders written before snapshots
 *                                   became metadata-only (level-storage.ts); deleted by the next one
 *   'A'                          -> the state machine's applied index, written with its data
 *   'K' + key                    -> the state machine's data (keys chosen by the state machine),
 *                                   read whole at start-up
 *   'W' + key                    -> the state machine's values, read one by one when asked and
 *                                   never at start-up (keys chosen by the state machine)
 *   'V'                          -> the data format's version, written when the folder is created
 * 'A', 'K' and 'W' values are checksummed records (record-codec.ts).
 *   'M'                          -> an empty marker written before each compaction (level-storage.ts)
 * Big-endian indexes sort numerically, so the log is read back in order by one iterator.
 */

const TWO_POW_32 = 2 ** 32;

/** Prefix bytes of each kind of record. */
export const Prefix = {
  log: 0x4c, // 'L'
  hardState: 0x48, // 'H'
  snapshotMeta: 0x53, // 'S'
  snapshotData: 0x44, // 'D'
  applied: 0x41, // 'A'
  stateMachine: 0x4b, // 'K'
  compactionMarker: 0x4d, // 'M'
  formatVersion: 0x56, // 'V'
  stateMachineValue: 0x57, // 'W'
} as const;

/**
 * The version of this layout, stored under 'V'. 2: 'A' and 'K' values became checksummed
 * records. 3: the key-value store keeps one value per revision instead of one per record.
 * 4: the key-value store keeps its records' values under 'W' (mvcc/stored-values.ts). A
 * folder without it (written before version 2) or with a version not in
 * READABLE_FORMAT_VERSIONS is refused.
 */
export const DATA_FORMAT_VERSION = 4;

/**
 * The versions this Cairn opens. An older folder is marked 4 when it is opened (what it
 * holds is read as it is, and converted as it is written again: see legacy-records.ts and
 * mvcc/codec/record-codec.ts), so an older Cairn refuses it by its version instead of
 * misreading what this one wrote.
 */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [2, 3, 4];

/** The key of the log entry at index. */
export function logKey(index: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = Prefix.log;
  const v = new DataView(k.buffer);
  v.setUint32(1, Math.floor(index / TWO_POW_32));
  v.setUint32(5, index % TWO_POW_32);
  return k;
}

/** The index of a log key. */
export function indexOfLogKey(key: Uint8Array): number {
  const v = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return v.getUint32(1) * TWO_POW_32 + v.getUint32(5);
}

/** A single-byte key (hard state, snapshot, applied index). */
export function singleKey(prefix: number): Uint8Array {
  return new Uint8Array([prefix]);
}

/** The key under which the state machine stores one of its own keys (under 'K', or another of its prefixes). */
export function stateMachineKey(key: Uint8Array, prefix: number = Prefix.stateMachine): Uint8Array {
  const k = new Uint8Array(key.byteLength + 1);
  k[0] = prefix;
  k.set(key, 1);
  return k;
}

/** The bounds [gte, lt) of every key with this prefix. */
export function prefixRange(prefix: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) };
}
