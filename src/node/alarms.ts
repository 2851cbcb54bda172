/**
 * Cluster alarms (etcd's alarm store): a replicated set of (member, alarm type) pairs,
 * changed only by EntryKind.Alarm entries so every member holds the same set. While a
 * NOSPACE alarm is active the state machine refuses writes that grow the data, as etcd's
 * capped applier does. Also here: the alarm entry's payload codec, the alarm keys of the
 * state-machine key space (prefix 3), and the snapshot trailer that carries the set.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { Command, RequestOp, TxnRequest } from '../mvcc/index.js';

/** etcd's AlarmType numbers (etcdserverpb.AlarmType). */
export enum AlarmType {
  NONE = 0,
  NOSPACE = 1,
  CORRUPT = 2,
}

/** etcd's AlarmRequest.AlarmAction numbers. */
export enum AlarmAction {
  GET = 0,
  ACTIVATE = 1,
  DEACTIVATE = 2,
}

/** One raised alarm: which member raised it and of which type. */
export interface AlarmMember {
  readonly memberId: number;
  readonly alarm: AlarmType;
}

/** An alarm change or query, as it travels in an EntryKind.Alarm entry. */
export interface AlarmRequest {
  readonly action: AlarmAction;
  readonly memberId: number;
  readonly alarm: AlarmType;
}

/** The alarms a change touched, for persistence. */
export interface AlarmChanges {
  readonly activated: readonly AlarmMember[];
  readonly deactivated: readonly AlarmMember[];
}

const TWO_POW_32 = 2 ** 32;
const REQUEST_BYTES = 10;

function writeU53(bytes: Uint8Array, offset: number, v: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(offset, Math.floor(v / TWO_POW_32));
  view.setUint32(offset + 4, v % TWO_POW_32);
}

function readU53(bytes: Uint8Array, offset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(offset) * TWO_POW_32 + view.getUint32(offset + 4);
}

function isAlarmType(v: number): v is AlarmType {
  return v === AlarmType.NONE || v === AlarmType.NOSPACE || v === AlarmType.CORRUPT;
}

/** Layout: u8 action, u64 member id, u8 alarm type. */
export function encodeAlarmRequest(r: AlarmRequest): Uint8Array {
  const out = new Uint8Array(REQUEST_BYTES);
  out[0] = r.action;
  writeU53(out, 1, r.memberId);
  out[9] = r.alarm;
  return out;
}

/** Decodes an alarm request; undefined for anything malformed (every member decides the same way). */
export function decodeAlarmRequest(bytes: Uint8Array): AlarmRequest | undefined {
  if (bytes.byteLength !== REQUEST_BYTES) return undefined;
  const action = bytes[0]!;
  const alarm = bytes[9]!;
  if (action > AlarmAction.DEACTIVATE || !isAlarmType(alarm)) return undefined;
  return { action, memberId: readU53(bytes, 1), alarm };
}

function keyOf(m: AlarmMember): string {
  return `${m.memberId}:${m.alarm}`;
}

/** The replicated alarm set; deterministic, as every member must reach the same one. */
export class AlarmSet {
  /** Invariant: no entry has type NONE. Keyed by member and type. */
  private readonly active = new Map<string, AlarmMember>();
  /** Alarms changed since the last takeChanges; their net state is read from `active`. */
  private touched = new Map<string, AlarmMember>();

  constructor(initial: readonly AlarmMember[] = []) {
    for (const m of initial) if (m.alarm !== AlarmType.NONE) this.active.set(keyOf(m), m);
  }

  /** The active alarms of one type (NONE: all of them), ordered by member id then type. */
  list(type: AlarmType = AlarmType.NONE): AlarmMember[] {
    return [...this.active.values()]
      .filter((m) => type === AlarmType.NONE || m.alarm === type)
      .sort((a, b) => a.memberId - b.memberId || a.alarm - b.alarm);
  }

  /** Whether any alarm of this type is active. */
  has(type: AlarmType): boolean {
    for (const m of this.active.values()) if (m.alarm === type) return true;
    return false;
  }

  /** Applies a request as etcd's applier does; answers the alarms it concerns. */
  apply(r: AlarmRequest): AlarmMember[] {
    switch (r.action) {
      case AlarmAction.GET:
        return this.list(r.alarm);
      case AlarmAction.ACTIVATE: {
        if (r.alarm === AlarmType.NONE) return [];
        const m: AlarmMember = { memberId: r.memberId, alarm: r.alarm };
        if (!this.active.has(keyOf(m))) {
          this.active.set(keyOf(m), m);
          this.touched.set(keyOf(m), m);
        }
        return [m];
      }
      case AlarmAction.DEACTIVATE: {
        const m = this.active.get(keyOf({ memberId: r.memberId, alarm: r.alarm }));
        if (!m) return [];
        this.active.delete(keyOf(m));
        this.touched.set(keyOf(m), m);
        return [m];
      }
    }
  }

  /** Takes the net changes made since the last call (raised then cleared is cleared), undefined if none. */
  takeChanges(): AlarmChanges | undefined {
    if (this.touched.size === 0) return undefined;
    const activated: AlarmMember[] = [];
    const deactivated: AlarmMember[] = [];
    for (const [k, m] of this.touched) (this.active.has(k) ? activated : deactivated).push(m);
    this.touched = new Map();
    return { activated, deactivated };
  }

  /** Replaces the whole set (a snapshot was installed); pending changes are dropped. */
  replace(alarms: readonly AlarmMember[]): void {
    this.active.clear();
    for (const m of alarms) if (m.alarm !== AlarmType.NONE) this.active.set(keyOf(m), m);
    this.touched = new Map();
  }
}

function opGrowsData(op: RequestOp): boolean {
  if ('requestPut' in op) return true;
  if ('requestTxn' in op) return txnGrowsData(op.requestTxn);
  return false;
}

function txnGrowsData(t: TxnRequest): boolean {
  return (t.success ?? []).some(opGrowsData) || (t.failure ?? []).some(opGrowsData);
}

/** Whether a command may add data (a put, or a Txn with a put in either branch): refused under NOSPACE. */
export function commandGrowsData(c: Command): boolean {
  // A lease grant grows the data too (etcd refuses LeaseGrant under NOSPACE as well).
  if (c.type === 'put' || c.type === 'leaseGrant') return true;
  if (c.type === 'txn') return txnGrowsData(c.request);
  return false;
}

/** The error for a write refused because space ran out (etcd's ErrNoSpace). */
export function noSpaceError(): CairnError {
  return new CairnError(ErrorCode.NO_SPACE, 'etcdserver: mvcc: database space exceeded');
}

// ------------------------------------------------------------ persistence

/** Alarm keys in the state machine's key space: [3, member id (8 bytes), type]: 10 bytes. */
export const ALARM_KEY_PREFIX = 3;
const ALARM_KEY_BYTES = 10;

/** The state-machine key of an alarm (its value is empty). */
export function alarmKey(m: AlarmMember): Uint8Array {
  const k = new Uint8Array(ALARM_KEY_BYTES);
  k[0] = ALARM_KEY_PREFIX;
  writeU53(k, 1, m.memberId);
  k[9] = m.alarm;
  return k;
}

/** The alarm a state-machine key stands for, or undefined if the key is not an alarm key. */
export function alarmOfKey(key: Uint8Array): AlarmMember | undefined {
  if (key.byteLength !== ALARM_KEY_BYTES || key[0] !== ALARM_KEY_PREFIX) return undefined;
  const alarm = key[9]!;
  if (!isAlarmType(alarm) || alarm === AlarmType.NONE) return undefined;
  return { memberId: readU53(key, 1), alarm };
}

// ------------------------------------------------------------ snapshot trailer

/** Marks a snapshot that carries alarms: "ALRM" after the alarm section and its length. */
const TRAILER_MAGIC = new Uint8Array([0x41, 0x4c, 0x52, 0x4d]);
const ALARM_ENTRY_BYTES = 9;

/**
 * The alarm set as a trailer to a snapshot body: the alarms (u64 member id, u8 type each), a
 * u32 count and the magic. A snapshot without the magic carries no alarms (older layouts).
 */
export function alarmTrailer(alarms: readonly AlarmMember[]): Uint8Array {
  const out = new Uint8Array(alarms.length * ALARM_ENTRY_BYTES + 8);
  let at = 0;
  for (const m of alarms) {
    writeU53(out, at, m.memberId);
    out[at + 8] = m.alarm;
    at += ALARM_ENTRY_BYTES;
  }
  new DataView(out.buffer).setUint32(at, alarms.length);
  out.set(TRAILER_MAGIC, at + 4);
  return out;
}

/** Splits a snapshot into its body and the alarms of its trailer; CORRUPT for a damaged trailer. */
export function splitAlarmTrailer(data: Uint8Array): { body: Uint8Array; alarms: AlarmMember[] } {
  const n = data.byteLength;
  const hasMagic = n >= 8 && TRAILER_MAGIC.every((b, i) => data[n - 4 + i] === b);
  if (!hasMagic) return { body: data, alarms: [] };
  const count = new DataView(data.buffer, data.byteOffset, n).getUint32(n - 8);
  const start = n - 8 - count * ALARM_ENTRY_BYTES;
  if (start < 0) throw new CairnError(ErrorCode.CORRUPT, 'snapshot alarm trailer is truncated');
  const alarms: AlarmMember[] = [];
  for (let at = start; at < n - 8; at += ALARM_ENTRY_BYTES) {
    const alarm = data[at + 8]!;
    if (!isAlarmType(alarm)) throw new CairnError(ErrorCode.CORRUPT, `snapshot names alarm type ${alarm}`);
    alarms.push({ memberId: readU53(data, at), alarm });
  }
  return { body: data.subarray(0, start), alarms };
}
