/**
 * How many bytes a record takes in a snapshot (its revision as two varints, then its record
 * body as record-codec writes it), without writing it: the store keeps the total of its
 * records' sizes as they come and go, so a snapshot announces its length at once.
 */
import { valueLengthOf } from '../slab-record.js';
import { EventType, type RevisionRecord } from '../types.js';
import { svarintBytes, uvarintBytes } from './bytes.js';

/** The bytes a record takes in a snapshot: varint main, varint sub, then its body. */
export function snapshotRecordBytes(record: RevisionRecord): number {
  const { main, sub, type, key, createRevision, version, lease } = record;
  return snapshotBytesOf(main, sub, type, key.length, valueLengthOf(record), createRevision, version, lease);
}

/** snapshotRecordBytes of a record given by its fields (a DELETE's last four are ignored). */
export function snapshotBytesOf(
  main: number,
  sub: number,
  type: EventType,
  keyLength: number,
  valueLength: number,
  createRevision: number,
  version: number,
  lease: number,
): number {
  // The body: format version, event type, key; a PUT adds its value and three numbers.
  const head = uvarintBytes(main) + uvarintBytes(sub) + 2 + uvarintBytes(keyLength) + keyLength;
  if (type === EventType.Delete) return head;
  return (
    head +
    uvarintBytes(valueLength) +
    valueLength +
    svarintBytes(createRevision) +
    svarintBytes(version) +
    svarintBytes(lease)
  );
}
