/**
 * Commands to bytes and back, for raft log entries. Layout: u8 format version, u8 command
 * tag, then the command. Every message is its required fields, then a varint presence mask
 * of its optional fields, then the present ones in declaration order; so a decoded command
 * has exactly the fields the encoded one had (an explicit `false` or 0 survives). Byte
 * strings are length-prefixed, integers are varints (signed where etcd's are int64). A
 * Compare carries only the operand its target reads, as etcd's oneof does.
 */
import { CairnError, ErrorCode } from '../../common/errors.js';
import type { Command } from '../commands.js';
import {
  type Compare,
  CompareResult,
  CompareTarget,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  SortOrder,
  SortTarget,
  type TxnRequest,
} from '../requests.js';
import { ByteReader, ByteWriter, corrupt } from './bytes.js';

const FORMAT_VERSION = 1;
/** Nesting deeper than this cannot come from a valid Txn (the op budget shrinks per level). */
const MAX_TXN_DEPTH = 1024;

/** Numbers are stable: they are in every raft log on disk. */
enum CommandTag {
  Put = 1,
  DeleteRange = 2,
  Txn = 3,
  Compact = 4,
  DeleteKeys = 5,
  LeaseGrant = 6,
  LeaseRevoke = 7,
}

enum OpTag {
  Range = 1,
  Put = 2,
  DeleteRange = 3,
  Txn = 4,
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Room for the tags, flags and integers of a put or a delete around its byte strings. */
const FIXED_BYTES_MAX = 48;

/** A buffer size that holds a put or a delete without growing; others start small. */
function initialBytes(command: Command): number {
  if (command.type === 'put')
    return FIXED_BYTES_MAX + command.request.key.byteLength + (command.request.value?.byteLength ?? 0);
  if (command.type === 'deleteRange')
    return FIXED_BYTES_MAX + command.request.key.byteLength + (command.request.rangeEnd?.byteLength ?? 0);
  return 128;
}

/**
 * Encodes a command for a raft entry; throws INVALID_ARGUMENT for integers that are not safe.
 * The bytes may be a view of a slightly larger buffer: every caller copies them into the
 * entry at once. A put is written into a buffer sized for it (growing 128 -> 256 -> 512 bytes
 * and trimming to size took four allocations for a 256-byte value, where one does).
 */
export function encodeCommand(command: Command): Uint8Array {
  const w = new ByteWriter(initialBytes(command));
  w.u8(FORMAT_VERSION);
  switch (command.type) {
    case 'put':
      w.u8(CommandTag.Put);
      writePut(w, command.request);
      break;
    case 'deleteRange':
      w.u8(CommandTag.DeleteRange);
      writeDeleteRange(w, command.request);
      break;
    case 'txn':
      w.u8(CommandTag.Txn);
      writeTxn(w, command.request);
      break;
    case 'compact': {
      w.u8(CommandTag.Compact);
      w.svarint(command.request.revision, 'revision');
      const { physical } = command.request;
      w.uvarint(mask(physical !== undefined));
      if (physical !== undefined) writeBool(w, physical);
      break;
    }
    case 'deleteKeys':
      w.u8(CommandTag.DeleteKeys);
      w.uvarint(command.keys.length);
      for (const key of command.keys) w.bytes(key);
      break;
    case 'leaseGrant':
      w.u8(CommandTag.LeaseGrant);
      w.svarint(command.id, 'lease id');
      w.svarint(command.ttlSeconds, 'lease ttl');
      break;
    case 'leaseRevoke':
      w.u8(CommandTag.LeaseRevoke);
      w.svarint(command.id, 'lease id');
      break;
  }
  return w.finishView();
}

/**
 * Decodes a command; throws CORRUPT for bytes encodeCommand could not have produced. Its keys
 * and values are views of `bytes`, not copies: a command is applied as soon as it is decoded,
 * and the store keeps what it needs as binary strings of its own (copying a put's value first
 * cost an allocation off the V8 heap per put, on every member).
 */
export function decodeCommand(bytes: Uint8Array): Command {
  const r = new ByteReader(bytes, false);
  const version = r.u8();
  if (version !== FORMAT_VERSION) throw corrupt(`unknown command format ${version}`);
  const tag = r.u8();
  let command: Command;
  switch (tag) {
    case CommandTag.Put:
      command = { type: 'put', request: readPut(r) };
      break;
    case CommandTag.DeleteRange:
      command = { type: 'deleteRange', request: readDeleteRange(r) };
      break;
    case CommandTag.Txn:
      command = { type: 'txn', request: readTxn(r, 0) };
      break;
    case CommandTag.Compact: {
      const revision = r.svarint();
      const present = r.uvarint();
      command = {
        type: 'compact',
        request: has(present, 0) ? { revision, physical: readBool(r) } : { revision },
      };
      break;
    }
    case CommandTag.DeleteKeys: {
      const count = r.uvarint();
      const keys: Uint8Array[] = [];
      for (let i = 0; i < count; i++) keys.push(r.bytes());
      command = { type: 'deleteKeys', keys };
      break;
    }
    case CommandTag.LeaseGrant: {
      const id = r.svarint();
      command = { type: 'leaseGrant', id, ttlSeconds: r.svarint() };
      break;
    }
    case CommandTag.LeaseRevoke:
      command = { type: 'leaseRevoke', id: r.svarint() };
      break;
    default:
      throw corrupt(`unknown command tag ${tag}`);
  }
  if (!r.done) throw corrupt('trailing bytes after command');
  return command;
}

function mask(...present: boolean[]): number {
  let m = 0;
  for (let i = 0; i < present.length; i++) if (present[i]) m += 2 ** i;
  return m;
}

function has(m: number, bit: number): boolean {
  return Math.floor(m / 2 ** bit) % 2 === 1;
}

function writeBool(w: ByteWriter, value: boolean): void {
  w.u8(value ? 1 : 0);
}

function readBool(r: ByteReader): boolean {
  const b = r.u8();
  if (b > 1) throw corrupt(`bool byte ${b}`);
  return b === 1;
}

function readEnum<E extends number>(r: ByteReader, values: object, what: string): E {
  const v = r.u8();
  if (!(v in values)) throw corrupt(`unknown ${what} ${v}`);
  return v as E;
}

function writePut(w: ByteWriter, p: PutRequest): void {
  w.bytes(p.key);
  w.uvarint(
    mask(
      p.value !== undefined,
      p.lease !== undefined,
      p.prevKv !== undefined,
      p.ignoreValue !== undefined,
      p.ignoreLease !== undefined,
    ),
  );
  if (p.value !== undefined) w.bytes(p.value);
  if (p.lease !== undefined) w.svarint(p.lease, 'lease');
  if (p.prevKv !== undefined) writeBool(w, p.prevKv);
  if (p.ignoreValue !== undefined) writeBool(w, p.ignoreValue);
  if (p.ignoreLease !== undefined) writeBool(w, p.ignoreLease);
}

function readPut(r: ByteReader): PutRequest {
  const out: Mutable<PutRequest> = { key: r.bytes() };
  const m = r.uvarint();
  if (has(m, 0)) out.value = r.bytes();
  if (has(m, 1)) out.lease = r.svarint();
  if (has(m, 2)) out.prevKv = readBool(r);
  if (has(m, 3)) out.ignoreValue = readBool(r);
  if (has(m, 4)) out.ignoreLease = readBool(r);
  return out;
}

function writeDeleteRange(w: ByteWriter, d: DeleteRangeRequest): void {
  w.bytes(d.key);
  w.uvarint(mask(d.rangeEnd !== undefined, d.prevKv !== undefined));
  if (d.rangeEnd !== undefined) w.bytes(d.rangeEnd);
  if (d.prevKv !== undefined) writeBool(w, d.prevKv);
}

function readDeleteRange(r: ByteReader): DeleteRangeRequest {
  const out: Mutable<DeleteRangeRequest> = { key: r.bytes() };
  const m = r.uvarint();
  if (has(m, 0)) out.rangeEnd = r.bytes();
  if (has(m, 1)) out.prevKv = readBool(r);
  return out;
}

function writeRange(w: ByteWriter, q: RangeRequest): void {
  w.bytes(q.key);
  w.uvarint(
    mask(
      q.rangeEnd !== undefined,
      q.limit !== undefined,
      q.revision !== undefined,
      q.sortOrder !== undefined,
      q.sortTarget !== undefined,
      q.serializable !== undefined,
      q.keysOnly !== undefined,
      q.countOnly !== undefined,
      q.minModRevision !== undefined,
      q.maxModRevision !== undefined,
      q.minCreateRevision !== undefined,
      q.maxCreateRevision !== undefined,
    ),
  );
  if (q.rangeEnd !== undefined) w.bytes(q.rangeEnd);
  if (q.limit !== undefined) w.svarint(q.limit, 'limit');
  if (q.revision !== undefined) w.svarint(q.revision, 'revision');
  if (q.sortOrder !== undefined) w.u8(q.sortOrder);
  if (q.sortTarget !== undefined) w.u8(q.sortTarget);
  if (q.serializable !== undefined) writeBool(w, q.serializable);
  if (q.keysOnly !== undefined) writeBool(w, q.keysOnly);
  if (q.countOnly !== undefined) writeBool(w, q.countOnly);
  if (q.minModRevision !== undefined) w.svarint(q.minModRevision, 'minModRevision');
  if (q.maxModRevision !== undefined) w.svarint(q.maxModRevision, 'maxModRevision');
  if (q.minCreateRevision !== undefined) w.svarint(q.minCreateRevision, 'minCreateRevision');
  if (q.maxCreateRevision !== undefined) w.svarint(q.maxCreateRevision, 'maxCreateRevision');
}

function readRange(r: ByteReader): RangeRequest {
  const out: Mutable<RangeRequest> = { key: r.bytes() };
  const m = r.uvarint();
  if (has(m, 0)) out.rangeEnd = r.bytes();
  if (has(m, 1)) out.limit = r.svarint();
  if (has(m, 2)) out.revision = r.svarint();
  if (has(m, 3)) out.sortOrder = readEnum<SortOrder>(r, SortOrder, 'sort order');
  if (has(m, 4)) out.sortTarget = readEnum<SortTarget>(r, SortTarget, 'sort target');
  if (has(m, 5)) out.serializable = readBool(r);
  if (has(m, 6)) out.keysOnly = readBool(r);
  if (has(m, 7)) out.countOnly = readBool(r);
  if (has(m, 8)) out.minModRevision = r.svarint();
  if (has(m, 9)) out.maxModRevision = r.svarint();
  if (has(m, 10)) out.minCreateRevision = r.svarint();
  if (has(m, 11)) out.maxCreateRevision = r.svarint();
  return out;
}

/** The operand a compare's target reads; the other target fields are not encoded. */
function operandOf(c: Compare): number | Uint8Array | undefined {
  switch (c.target) {
    case CompareTarget.Version:
      return c.version;
    case CompareTarget.Create:
      return c.createRevision;
    case CompareTarget.Mod:
      return c.modRevision;
    case CompareTarget.Lease:
      return c.lease;
    case CompareTarget.Value:
      return c.value;
  }
}

function writeCompare(w: ByteWriter, c: Compare): void {
  w.u8(c.result);
  w.u8(c.target);
  w.bytes(c.key);
  const operand = operandOf(c);
  w.uvarint(mask(c.rangeEnd !== undefined, operand !== undefined));
  if (c.rangeEnd !== undefined) w.bytes(c.rangeEnd);
  if (operand instanceof Uint8Array) w.bytes(operand);
  else if (operand !== undefined) w.svarint(operand, 'compare operand');
}

function readCompare(r: ByteReader): Compare {
  const result = readEnum<CompareResult>(r, CompareResult, 'compare result');
  const target = readEnum<CompareTarget>(r, CompareTarget, 'compare target');
  const out: Mutable<Compare> = { result, target, key: r.bytes() };
  const m = r.uvarint();
  if (has(m, 0)) out.rangeEnd = r.bytes();
  if (has(m, 1)) {
    switch (target) {
      case CompareTarget.Version:
        out.version = r.svarint();
        break;
      case CompareTarget.Create:
        out.createRevision = r.svarint();
        break;
      case CompareTarget.Mod:
        out.modRevision = r.svarint();
        break;
      case CompareTarget.Lease:
        out.lease = r.svarint();
        break;
      case CompareTarget.Value:
        out.value = r.bytes();
        break;
    }
  }
  return out;
}

function writeTxn(w: ByteWriter, t: TxnRequest): void {
  w.uvarint(mask(t.compare !== undefined, t.success !== undefined, t.failure !== undefined));
  if (t.compare !== undefined) {
    w.uvarint(t.compare.length);
    for (const c of t.compare) writeCompare(w, c);
  }
  for (const ops of [t.success, t.failure]) {
    if (ops === undefined) continue;
    w.uvarint(ops.length);
    for (const op of ops) writeOp(w, op);
  }
}

function readTxn(r: ByteReader, depth: number): TxnRequest {
  if (depth > MAX_TXN_DEPTH) throw corrupt('txn nested too deep');
  const out: Mutable<TxnRequest> = {};
  const m = r.uvarint();
  if (has(m, 0)) {
    const compare: Compare[] = [];
    for (let n = r.uvarint(); n > 0; n--) compare.push(readCompare(r));
    out.compare = compare;
  }
  if (has(m, 1)) out.success = readOps(r, depth);
  if (has(m, 2)) out.failure = readOps(r, depth);
  return out;
}

function readOps(r: ByteReader, depth: number): RequestOp[] {
  const ops: RequestOp[] = [];
  for (let n = r.uvarint(); n > 0; n--) ops.push(readOp(r, depth));
  return ops;
}

function writeOp(w: ByteWriter, op: RequestOp): void {
  if ('requestRange' in op) {
    w.u8(OpTag.Range);
    writeRange(w, op.requestRange);
  } else if ('requestPut' in op) {
    w.u8(OpTag.Put);
    writePut(w, op.requestPut);
  } else if ('requestDeleteRange' in op) {
    w.u8(OpTag.DeleteRange);
    writeDeleteRange(w, op.requestDeleteRange);
  } else if ('requestTxn' in op) {
    w.u8(OpTag.Txn);
    writeTxn(w, op.requestTxn);
  } else {
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'a txn op carries no request');
  }
}

function readOp(r: ByteReader, depth: number): RequestOp {
  const tag = r.u8();
  switch (tag) {
    case OpTag.Range:
      return { requestRange: readRange(r) };
    case OpTag.Put:
      return { requestPut: readPut(r) };
    case OpTag.DeleteRange:
      return { requestDeleteRange: readDeleteRange(r) };
    case OpTag.Txn:
      return { requestTxn: readTxn(r, depth + 1) };
    default:
      throw corrupt(`unknown txn op tag ${tag}`);
  }
}
