/**
 * The key-value shapes the SDK hands out and takes in, and their conversion from and to
 * etcd's wire messages: keys and values are bytes (Buffer) on the way out, and a string or
 * Buffer on the way in.
 */
import type { Wire } from './connection.js';

/** A key or value as callers give it: text (UTF-8) or bytes. */
export type Bytes = string | Buffer;

/** One key as stored, at one revision. */
export interface KeyValue {
  /** The key. */
  key: Buffer;
  /** The value. */
  value: Buffer;
  /** Revision of the key's creation (its fencing token when the key is a lock). */
  createRevision: number;
  /** Revision of its last modification. */
  modRevision: number;
  /** Number of modifications since creation (1 after the first put). */
  version: number;
  /** The lease the key is attached to, 0 for none. */
  lease: number;
}

/** Which keys a request covers: one key, a prefix, or [key, rangeEnd). */
export interface RangeSelector {
  /** Every key starting with the key. */
  prefix?: boolean;
  /** The end of a half-open range [key, rangeEnd); "\0" means every key from key on. */
  rangeEnd?: Bytes;
}

/** The key as bytes. */
export function toBytes(value: Bytes): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
}

/** The first key after every key that starts with `prefix` (etcd's prefix range end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The wire range_end for a selector (empty: just the key). */
export function rangeEndOf(key: Buffer, selector: RangeSelector): Buffer {
  if (selector.prefix && selector.rangeEnd !== undefined) {
    throw new RangeError('give either prefix or rangeEnd, not both');
  }
  if (selector.prefix) return key.length === 0 ? Buffer.from([0]) : prefixEnd(key);
  return selector.rangeEnd === undefined ? Buffer.alloc(0) : toBytes(selector.rangeEnd);
}

/** A wire mvccpb.KeyValue as the SDK's KeyValue. */
export function keyValueOf(kv: Wire): KeyValue {
  return {
    key: kv.key as Buffer,
    value: kv.value as Buffer,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: Number(kv.lease),
  };
}

/** A wire prev_kv field (absent or empty when the key did not exist). */
export function optionalKeyValue(kv: Wire): KeyValue | undefined {
  return kv && kv.key !== undefined && (kv.key as Buffer).length > 0 ? keyValueOf(kv) : undefined;
}
