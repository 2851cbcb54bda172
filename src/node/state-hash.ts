/**
 * The Maintenance service's Hash: a CRC-32 over everything the key-value state machine
 * holds, in its persisted form (each key, then its value, in key order), so members that
 * applied the same entries hash the same whatever their raft log, snapshots or files look like.
 */
import { crc32 } from '../common/crc32.js';
import { compareKeys } from '../mvcc/index.js';
import { type KvStateMachine, kvWritesToOps } from './kv-state-machine.js';

/** The CRC-32 of the state machine's whole contents (mvcc records and meta, members, alarms). */
export function hashStateMachine(sm: KvStateMachine): number {
  const puts = [...kvWritesToOps(sm.contents()).puts].sort((a, b) => compareKeys(a[0], b[0]));
  let hash = 0;
  for (const [key, value] of puts) {
    hash = crc32(key, hash);
    hash = crc32(value, hash);
  }
  return hash;
}
