/**
 * etcd's Watch messages on the wire: the create request read into the hub's options, events
 * as mvccpb.Event, the encoded size of a WatchResponse (protobuf rules, for the fragment
 * limit and the send-side byte bound), and the split of a large response into fragments.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { EventType, type MvccEvent, type WatchOptions } from '../mvcc/index.js';
import type { WireHeader } from './header.js';
import { kvToWire } from './kv-wire.js';

/** etcd's WatchCreateRequest.FilterType values. */
export const WatchFilter = { NOPUT: 0, NODELETE: 1 } as const;

/** A create request, read and checked. */
export interface WatchCreate {
  readonly options: WatchOptions;
  /** The id the client chose; 0 asks the server to choose (etcd's AutoWatchID). */
  readonly watchId: number;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
}

/** mvccpb.KeyValue as proto-loader decodes it (keepCase, longs as Number). */
export interface WireKeyValue {
  key: Uint8Array;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

/** mvccpb.Event on the wire. */
export interface WireEvent {
  type: number;
  kv: WireKeyValue;
  prev_kv?: WireKeyValue;
}

/** etcdserverpb.WatchResponse on the wire. */
export interface WireWatchResponse {
  header: WireHeader;
  watch_id: number;
  created: boolean;
  canceled: boolean;
  compact_revision: number;
  cancel_reason: string;
  fragment: boolean;
  events: WireEvent[];
}

const EMPTY = new Uint8Array(0);

function bytesOf(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY;
}

function intOf(v: unknown, field: string, min: number): number {
  const n = typeof v === 'number' ? v : Number(v ?? 0);
  if (!Number.isSafeInteger(n) || n < min)
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `etcdserver: watch ${field} is out of range`);
  return n;
}

/**
 * Reads a WatchCreateRequest as etcd does: an empty key means "\0" (the smallest key), an
 * empty range_end one key, "\0" every key from key on. Numbers out of range are refused.
 */
// biome-ignore lint/suspicious/noExplicitAny: decoded wire object
export function createFromWire(w: any): WatchCreate {
  const rawKey = bytesOf(w.key);
  const key = rawKey.byteLength === 0 ? new Uint8Array([0]) : rawKey;
  const rangeEnd = bytesOf(w.range_end);
  const filters: unknown[] = Array.isArray(w.filters) ? w.filters : [];
  const has = (f: number, name: string) => filters.some((x) => x === f || x === name);
  const prevKv = w.prev_kv === true;
  return {
    options: {
      key,
      rangeEnd,
      startRevision: intOf(w.start_revision, 'start_revision', 0),
      prevKv,
      noPut: has(WatchFilter.NOPUT, 'NOPUT'),
      noDelete: has(WatchFilter.NODELETE, 'NODELETE'),
    },
    watchId: intOf(w.watch_id, 'watch_id', 0),
    prevKv,
    progressNotify: w.progress_notify === true,
    fragment: w.fragment === true,
  };
}

/** Whether [key, rangeEnd) holds no key at all (etcd refuses such a watch). */
export function isEmptyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean {
  if (rangeEnd === undefined || rangeEnd.byteLength === 0) return false;
  if (rangeEnd.byteLength === 1 && rangeEnd[0] === 0) return false;
  return Buffer.compare(key, rangeEnd) >= 0;
}

/** An event on the wire; the previous version only if the watcher asked for it (etcd's prev_kv). */
export function eventToWire(ev: MvccEvent, withPrevKv: boolean): WireEvent {
  const out: WireEvent = { type: ev.type === EventType.Put ? 0 : 1, kv: kvToWire(ev.kv) as WireKeyValue };
  if (withPrevKv && ev.prevKv !== undefined) out.prev_kv = kvToWire(ev.prevKv) as WireKeyValue;
  return out;
}

/** A WatchResponse with every field set (defaults where not given). */
export function watchResponse(
  header: WireHeader,
  watchId: number,
  fields: Partial<Omit<WireWatchResponse, 'header' | 'watch_id'>> = {},
): WireWatchResponse {
  return {
    header,
    watch_id: watchId,
    created: false,
    canceled: false,
    compact_revision: 0,
    cancel_reason: '',
    fragment: false,
    events: [],
    ...fields,
  };
}

function varintBytes(n: number): number {
  if (n < 0) return 10; // negative int64 values take ten bytes
  let bytes = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/** A length-delimited field of `len` bytes (tag of one byte: every field number here is < 16). */
function lenField(len: number): number {
  return 1 + varintBytes(len) + len;
}

/**
 * A varint field. grpc-js's encoder (protobufjs) writes every field present in the object,
 * zeros and false included, and every response here sets all its fields, so all count.
 */
function intField(n: number): number {
  return 1 + varintBytes(n);
}

const BOOL_FIELD = 2;

function kvBytes(kv: WireKeyValue): number {
  return (
    lenField(kv.key.byteLength) +
    intField(kv.create_revision) +
    intField(kv.mod_revision) +
    intField(kv.version) +
    lenField(kv.value.byteLength) +
    intField(kv.lease)
  );
}

/** Encoded size of one event as a field of WatchResponse. */
export function wireEventBytes(ev: WireEvent): number {
  const body =
    intField(ev.type) + lenField(kvBytes(ev.kv)) + (ev.prev_kv ? lenField(kvBytes(ev.prev_kv)) : 0);
  return lenField(body);
}

/** Encoded size of a WatchResponse as grpc-js sends it. */
export function wireResponseBytes(r: WireWatchResponse): number {
  const h = r.header;
  const header =
    intField(h.cluster_id) + intField(h.member_id) + intField(h.revision) + intField(h.raft_term);
  let n = lenField(header) + intField(r.watch_id) + intField(r.compact_revision) + 3 * BOOL_FIELD;
  n += lenField(Buffer.byteLength(r.cancel_reason));
  for (const ev of r.events) n += wireEventBytes(ev);
  return n;
}

/**
 * Splits a response whose encoding reaches limitBytes into several with fragment=true on
 * all but the last, each holding at least one event and staying under the limit where one
 * event allows it (the client joins them). A small response, or one of a single event,
 * goes whole.
 */
export function fragmentsOf(r: WireWatchResponse, limitBytes: number): WireWatchResponse[] {
  const base = wireResponseBytes({ ...r, events: [], fragment: true });
  if (r.events.length < 2 || wireResponseBytes(r) < limitBytes) return [r];
  const parts: WireWatchResponse[] = [];
  let current: WireEvent[] = [];
  let size = base;
  for (const ev of r.events) {
    const evBytes = wireEventBytes(ev);
    if (current.length > 0 && size + evBytes >= limitBytes) {
      parts.push({ ...r, events: current, fragment: true });
      current = [];
      size = base;
    }
    current.push(ev);
    size += evBytes;
  }
  parts.push({ ...r, events: current, fragment: false });
  return parts;
}
