/**
 * A deterministic hash of the store's contents up to a revision, for consistency checks
 * between members (etcd's HashKV): CRC-32 over the persistent form (record key, then record
 * value) of every stored record at or below the revision, in revision order. Members that
 * applied the same log and compacted at the same revision hash the same; compare hashes
 * only between equal compactRevisions, as etcd's checker does.
 */
import { crc32 } from '../common/crc32.js';
import { encodeRecordKey, encodeRecordValue } from './codec/record-codec.js';
import type { KvState } from './state.js';

/** A hash and the revisions it describes (etcd's HashKVResponse fields). */
export interface HashKVResult {
  readonly hash: number;
  /** The revision the hash covers the store up to. */
  readonly hashRevision: number;
  /** The compaction revision at the time of hashing. */
  readonly compactRevision: number;
}

/** Hashes the records with main revision <= revision (which the caller checked is readable). */
export function hashRecords(state: KvState, revision: number): HashKVResult {
  let hash = 0;
  for (const record of state.recordsBetween(0, revision)) {
    hash = crc32(encodeRecordKey(record), hash);
    hash = crc32(encodeRecordValue(record), hash);
  }
  return { hash, hashRevision: revision, compactRevision: state.compactedRevision };
}
