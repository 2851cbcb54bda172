/**
 * The Stream call's protobuf codec (cairn.raft.Envelope of proto/raft/raft.proto), written
 * out by hand for the hot path. proto-loader's codec took two passes each way (fromObject then
 * encode, decode then toObject) over a wire object the sender had built first; under load that
 * was several percent of a member's CPU. Here a raft Message is encoded in one pass into a
 * buffer sized beforehand, and a frame is decoded in one pass into the shape proto-loader gives
 * (defaults filled in, uint64 as numbers, bytes as views of the frame), which raft-codec.ts
 * then checks as before. The bytes are plain protobuf: zero-valued fields are left out (proto3),
 * fields are read in any order, unknown fields are skipped, and repeated ids are read packed
 * or not, so either side interoperates with proto-loader's codec.
 */
import { uvarintBytes } from '../common/varint.js';
import type { Message, SnapshotMetadata } from '../raft/types.js';
import type {
  WireConfState,
  WireEntry,
  WireEnvelope,
  WireMessage,
  WireSnapshotMetadata,
} from './raft-proto.js';

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Bytes of a varint field (tag and value), or 0 for a zero value (left out, as proto3). */
function uintFieldBytes(n: number): number {
  return n === 0 ? 0 : 1 + uvarintBytes(n);
}

/** Bytes of a length-delimited field of len bytes with a one-byte tag. */
function lenFieldBytes(len: number): number {
  return 1 + uvarintBytes(len) + len;
}

function confStateBytes(md: SnapshotMetadata): number {
  const c = md.confState;
  let n = 0;
  for (const ids of [c.voters, c.learners, c.votersOutgoing, c.learnersNext]) {
    if (ids.length === 0) continue;
    let packed = 0;
    for (const id of ids) packed += uvarintBytes(id);
    n += lenFieldBytes(packed);
  }
  return n + (c.autoLeave ? 2 : 0);
}

function snapshotMetadataBytes(md: SnapshotMetadata): number {
  return uintFieldBytes(md.index) + uintFieldBytes(md.term) + lenFieldBytes(confStateBytes(md));
}

function entryBytes(term: number, index: number, type: number, dataBytes: number): number {
  return (
    uintFieldBytes(term) +
    uintFieldBytes(index) +
    uintFieldBytes(type) +
    (dataBytes > 0 ? lenFieldBytes(dataBytes) : 0)
  );
}

function messageBytes(m: Message): number {
  let n =
    uintFieldBytes(m.type) +
    uintFieldBytes(m.to) +
    uintFieldBytes(m.from) +
    uintFieldBytes(m.term) +
    uintFieldBytes(m.logTerm) +
    uintFieldBytes(m.index) +
    uintFieldBytes(m.commit) +
    (m.reject ? 2 : 0) +
    uintFieldBytes(m.rejectHint);
  for (const e of m.entries) n += lenFieldBytes(entryBytes(e.term, e.index, e.type, e.data.byteLength));
  if (m.snapshot !== undefined) n += lenFieldBytes(snapshotMetadataBytes(m.snapshot.metadata));
  if (m.context !== undefined) n += 2 + (m.context.byteLength > 0 ? lenFieldBytes(m.context.byteLength) : 0);
  return n;
}

/** Writes into a buffer of the exact size computed beforehand. */
class FrameWriter {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(n: number): void {
    const buf = this.buf;
    while (n >= 0x80000000) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    while (n >= 0x80) {
      buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[this.pos++] = n;
  }

  /** A varint field, left out when zero. */
  uint(field: number, n: number): void {
    if (n === 0) return;
    this.buf[this.pos++] = (field << 3) | WIRE_VARINT;
    this.varint(n);
  }

  /** The tag and length of a length-delimited field. */
  len(field: number, len: number): void {
    this.buf[this.pos++] = (field << 3) | WIRE_LEN;
    this.varint(len);
  }

  bytes(field: number, b: Uint8Array): void {
    this.len(field, b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
}

function writeSnapshotMetadata(w: FrameWriter, md: SnapshotMetadata): void {
  w.uint(1, md.index);
  w.uint(2, md.term);
  w.len(3, confStateBytes(md));
  const c = md.confState;
  const lists = [c.voters, c.learners, c.votersOutgoing, c.learnersNext];
  for (let i = 0; i < lists.length; i++) {
    const ids = lists[i]!;
    if (ids.length === 0) continue;
    let packed = 0;
    for (const id of ids) packed += uvarintBytes(id);
    w.len(i + 1, packed);
    for (const id of ids) w.varint(id);
  }
  if (c.autoLeave) w.uint(5, 1);
}

/**
 * The Stream frame (an Envelope) of a message to its addressee; a snapshot contributes its
 * metadata only (its data travels in chunks).
 */
export function encodeEnvelopeFrame(clusterId: number, m: Message): Buffer {
  const msgBytes = messageBytes(m);
  const total =
    uintFieldBytes(clusterId) + uintFieldBytes(m.from) + uintFieldBytes(m.to) + lenFieldBytes(msgBytes);
  const w = new FrameWriter(Buffer.allocUnsafe(total));
  w.uint(1, clusterId);
  w.uint(2, m.from);
  w.uint(3, m.to);
  w.len(4, msgBytes);
  w.uint(1, m.type);
  w.uint(2, m.to);
  w.uint(3, m.from);
  w.uint(4, m.term);
  w.uint(5, m.logTerm);
  w.uint(6, m.index);
  for (const e of m.entries) {
    w.len(7, entryBytes(e.term, e.index, e.type, e.data.byteLength));
    w.uint(1, e.term);
    w.uint(2, e.index);
    w.uint(3, e.type);
    if (e.data.byteLength > 0) w.bytes(4, e.data);
  }
  w.uint(8, m.commit);
  if (m.snapshot !== undefined) {
    w.len(9, snapshotMetadataBytes(m.snapshot.metadata));
    writeSnapshotMetadata(w, m.snapshot.metadata);
  }
  if (m.reject) w.uint(10, 1);
  w.uint(11, m.rejectHint);
  if (m.context !== undefined) {
    w.uint(12, 1);
    if (m.context.byteLength > 0) w.bytes(13, m.context);
  }
  if (w.pos !== total) throw new Error(`envelope-wire: wrote ${w.pos} bytes of ${total}`);
  return w.buf;
}

// ------------------------------------------------------------------------- decoding

/** Reads one message's bytes [pos, end) of a frame. */
class FrameReader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number: exact below 2^53, larger values come out above it (and are refused later). */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('envelope-wire: truncated varint');
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
    throw new Error('envelope-wire: varint longer than 10 bytes');
  }

  /** The bounds of a length-delimited value, as a reader of its own; moves past it. */
  sub(): FrameReader {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) throw new Error('envelope-wire: length beyond the frame');
    this.pos = start + len;
    return new FrameReader(this.buf, start, start + len);
  }

  /** A bytes value, as a view of the frame. */
  bytes(): Buffer {
    const r = this.sub();
    return this.buf.subarray(r.pos, r.end);
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_I64) this.advance(8);
    else if (wireType === WIRE_LEN) this.sub();
    else if (wireType === WIRE_I32) this.advance(4);
    else throw new Error(`envelope-wire: wire type ${wireType} is not supported`);
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new Error('envelope-wire: truncated field');
    this.pos += n;
  }

  /** The next tag: [field number, wire type]. */
  tag(): number {
    return this.varint();
  }
}

function expectWire(actual: number, expected: number, field: string): void {
  if (actual !== expected) throw new Error(`envelope-wire: field ${field} has wire type ${actual}`);
}

/** Repeated uint64, packed or one value per field. */
function readIds(r: FrameReader, wireType: number, into: number[]): void {
  if (wireType === WIRE_VARINT) {
    into.push(r.varint());
    return;
  }
  expectWire(wireType, WIRE_LEN, 'ids');
  const p = r.sub();
  while (!p.done) into.push(p.varint());
}

/** Reads every field of r: `read` consumes those it knows and answers false for the rest, which are skipped. */
function eachField(r: FrameReader, read: (field: number, wireType: number) => boolean): void {
  while (!r.done) {
    const tag = r.tag();
    const wireType = tag & 7;
    if (!read(Math.floor(tag / 8), wireType)) r.skip(wireType);
  }
}

const EMPTY = Buffer.alloc(0);

function readEntry(r: FrameReader): WireEntry {
  const e: WireEntry = { term: 0, index: 0, type: 0, data: EMPTY };
  eachField(r, (field, wt) => {
    if (field === 1 && wt === WIRE_VARINT) e.term = r.varint();
    else if (field === 2 && wt === WIRE_VARINT) e.index = r.varint();
    else if (field === 3 && wt === WIRE_VARINT) e.type = r.varint();
    else if (field === 4 && wt === WIRE_LEN) e.data = r.bytes();
    else return false;
    return true;
  });
  return e;
}

function readConfState(r: FrameReader): WireConfState {
  const c: WireConfState = {
    voters: [],
    learners: [],
    voters_outgoing: [],
    learners_next: [],
    auto_leave: false,
  };
  eachField(r, (field, wt) => {
    if (field === 1) readIds(r, wt, c.voters);
    else if (field === 2) readIds(r, wt, c.learners);
    else if (field === 3) readIds(r, wt, c.voters_outgoing);
    else if (field === 4) readIds(r, wt, c.learners_next);
    else if (field === 5 && wt === WIRE_VARINT) c.auto_leave = r.varint() !== 0;
    else return false;
    return true;
  });
  return c;
}

function readSnapshotMetadata(r: FrameReader): WireSnapshotMetadata {
  const md: WireSnapshotMetadata = { index: 0, term: 0, conf_state: null };
  eachField(r, (field, wt) => {
    if (field === 1 && wt === WIRE_VARINT) md.index = r.varint();
    else if (field === 2 && wt === WIRE_VARINT) md.term = r.varint();
    else if (field === 3 && wt === WIRE_LEN) md.conf_state = readConfState(r.sub());
    else return false;
    return true;
  });
  return md;
}

function readMessage(r: FrameReader): WireMessage {
  const m: WireMessage = {
    type: 0,
    to: 0,
    from: 0,
    term: 0,
    log_term: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: null,
    reject: false,
    reject_hint: 0,
    has_context: false,
    context: EMPTY,
  };
  eachField(r, (field, wt) => {
    if (wt === WIRE_VARINT) {
      if (field === 1) m.type = r.varint();
      else if (field === 2) m.to = r.varint();
      else if (field === 3) m.from = r.varint();
      else if (field === 4) m.term = r.varint();
      else if (field === 5) m.log_term = r.varint();
      else if (field === 6) m.index = r.varint();
      else if (field === 8) m.commit = r.varint();
      else if (field === 10) m.reject = r.varint() !== 0;
      else if (field === 11) m.reject_hint = r.varint();
      else if (field === 12) m.has_context = r.varint() !== 0;
      else return false;
    } else if (wt === WIRE_LEN && field === 7) m.entries.push(readEntry(r.sub()));
    else if (wt === WIRE_LEN && field === 9) m.snapshot = readSnapshotMetadata(r.sub());
    else if (wt === WIRE_LEN && field === 13) m.context = r.bytes();
    else return false;
    return true;
  });
  return m;
}

/**
 * Decodes a Stream frame into the shape proto-loader gives (every field present, absent ones
 * at their defaults); throws on bytes that are not a well-formed Envelope.
 */
export function decodeEnvelopeFrame(frame: Buffer): WireEnvelope {
  const r = new FrameReader(frame, 0, frame.byteLength);
  const env: WireEnvelope = { cluster_id: 0, from: 0, to: 0, message: null };
  eachField(r, (field, wt) => {
    if (field === 1 && wt === WIRE_VARINT) env.cluster_id = r.varint();
    else if (field === 2 && wt === WIRE_VARINT) env.from = r.varint();
    else if (field === 3 && wt === WIRE_VARINT) env.to = r.varint();
    else if (field === 4 && wt === WIRE_LEN) env.message = readMessage(r.sub());
    else return false;
    return true;
  });
  return env;
}
