/**
 * How many bytes a record takes in a snapshot (its revision as two varints, then its record
 * body as record-codec writes it), without writing it: the store keeps the total of its
 * records' sizes as they come and go, so a snapshot announces its length at once.
 */
import { valueLengthOf } from '../slab-record.js';
import { EventType, type RevisionRecord } from '../types.js';
import { svarintBytes, uvarintBytes } from './bytes.js';

/** The bytes writeRecordBody writes for record. */
export function recordBodyBytes(record: RevisionRecord): number {
  const key = record.key.length;
  const head = 2 + uvarintBytes(key) + key;
  if (record.type === EventType.Delete) return head;
  const value = valueLengthOf(record);
  return (
    head +
    uvarintBytes(value) +
    value +
    svarintBytes(record.createRevision) +
    svarintBytes(record.version) +
    svarintBytes(record.lease)
  );
}

/** The bytes a record takes in a snapshot: varint main, varint sub, then its body. */
export function snapshotRecordBytes(record: RevisionRecord): number {
  return uvarintBytes(record.main) + uvarintBytes(record.sub) + recordBodyBytes(record);
}
