/** Helpers for the mvcc tests: string keys, applying commands that must succeed or fail, short reads. */
import { expect } from 'vitest';
import type { CairnError } from '../../src/common/errors.js';
import { writeRecordBody } from '../../src/mvcc/codec/record-codec.js';
import {
  ByteWriter,
  type Command,
  type KeyValue,
  MvccStore,
  type MvccStoreOptions,
  type RangeRequest,
  type RangeResponse,
  type ResponseOf,
  type RevisionRecord,
} from '../../src/mvcc/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string. */
export function b(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A byte string as text. */
export function str(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** A fresh empty store. */
export function newStore(options: MvccStoreOptions = {}): MvccStore {
  // Most tests attach keys to lease ids they never granted: accept every id unless told otherwise.
  return new MvccStore({ leaseExists: () => true, ...options });
}

/** Applies a command that must succeed and returns its response. */
export function ok<C extends Command>(store: MvccStore, command: C): ResponseOf<C> {
  const result = store.apply(command);
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.response;
}

/** Applies a command that must fail, checks that the store did not move, and returns the error. */
export function fails(store: MvccStore, command: Command): CairnError {
  const before = store.currentRevision;
  const result = store.apply(command);
  if (result.ok) throw new Error('expected an error, the command succeeded');
  expect(store.currentRevision).toBe(before);
  expect(result.events).toEqual([]);
  expect(result.changes.revisions).toEqual([]);
  return result.error;
}

/** Puts key=value (strings) and returns the put's revision. */
export function put(store: MvccStore, key: string, value: string, lease = 0): number {
  return ok(store, { type: 'put', request: { key: b(key), value: b(value), lease } }).header.revision;
}

/** Deletes a key or [key, end) and returns how many keys went. */
export function del(store: MvccStore, key: string, end?: string): number {
  const request = end === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(end) };
  return ok(store, { type: 'deleteRange', request }).deleted;
}

/** Reads one key (optionally at a revision). */
export function get(store: MvccStore, key: string, revision = 0): KeyValue | undefined {
  return store.range({ key: b(key), revision }).kvs[0];
}

/** Ranges and returns the keys found, as strings. */
export function keysOf(resp: RangeResponse): string[] {
  return resp.kvs.map((kv) => str(kv.key));
}

/** Ranges with string key and end. */
export function rangeKeys(
  store: MvccStore,
  key: string,
  end: string,
  extra: Partial<RangeRequest> = {},
): string[] {
  return keysOf(store.range({ key: b(key), rangeEnd: b(end), ...extra }));
}

/** Runs fn and returns the CairnError it throws. */
export function thrown(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (err) {
    return err as CairnError;
  }
  throw new Error('expected an error, none was thrown');
}

/** A small deterministic PRNG (mulberry32) so randomized tests replay exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A revision value as data format 3 wrote it (format 1): each record's body with its value inside. */
export function formatOneRevisionValue(records: readonly RevisionRecord[]): Uint8Array {
  const w = new ByteWriter();
  w.u8(1);
  w.uvarint(records.length);
  for (const r of records) {
    w.uvarint(r.sub);
    writeRecordBody(w, r);
  }
  return w.finish();
}

/** A record as plain data, to compare records of any class (a SlabRecord's fields are getters). */
export function plain(r: RevisionRecord) {
  return {
    main: r.main,
    sub: r.sub,
    type: r.type,
    key: r.key,
    value: r.value,
    createRevision: r.createRevision,
    version: r.version,
    lease: r.lease,
  };
}
