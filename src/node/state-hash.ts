/**
 * The Maintenance service's Hash: a CRC-32 over everything the key-value state machine
 * holds, in its persisted form (each key, then its value, in key order), so members that
 * applied the same entries hash the same whatever their raft log, snapshots or files look like.
 */
import { crc32 } from '../common/crc32.js';
import { compareKeys } from '../mvcc/index.js';
import { type KvStateMachine, kvWritesToOps } from './kv-state-machine.js';

/** The CRC-32 of the state machine's whole contents (mvcc records, values and meta, members, alarms). */
export function hashStateMachine(sm: KvStateMachine): number {
  const ops = kvWritesToOps(sm.contents());
  let hash = 0;
  // The keys, then the values kept under keys of their own (a keyspace apart).
  for (const puts of [ops.puts, ops.valuePuts ?? []])
    for (const [key, value] of [...puts].sort((a, b) => compareKeys(a[0], b[0]))) {
      hash = crc32(key, hash);
      hash = crc32(value, hash);
    }
  return hash;
}
