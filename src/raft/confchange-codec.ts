/** Binary encoding of a ConfChange, the payload of EntryType.ConfChange entries. */
import { CairnError, ErrorCode } from '../common/errors.js';
import { type ConfChange, type ConfChangeSingle, ConfChangeTransition, ConfChangeType } from './types.js';

const VERSION = 1;
const TWO_POW_32 = 2 ** 32;

/** Layout: u8 version, u8 transition, u16 count, count x (u8 type, u32 id-high, u32 id-low), u32 context length, context. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const size = 4 + cc.changes.length * 9 + 4 + cc.context.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, cc.transition);
  view.setUint16(2, cc.changes.length);
  let off = 4;
  for (const c of cc.changes) {
    view.setUint8(off, c.type);
    view.setUint32(off + 1, Math.floor(c.nodeId / TWO_POW_32));
    view.setUint32(off + 5, c.nodeId % TWO_POW_32);
    off += 9;
  }
  view.setUint32(off, cc.context.byteLength);
  out.set(cc.context, off + 4);
  return out;
}

/** Decodes what encodeConfChange wrote; throws INVALID_ARGUMENT on anything else. */
export function decodeConfChange(bytes: Uint8Array): ConfChange {
  const bad = (why: string) => new CairnError(ErrorCode.INVALID_ARGUMENT, `malformed conf change: ${why}`);
  if (bytes.byteLength < 8) throw bad('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== VERSION) throw bad(`unknown version ${view.getUint8(0)}`);
  const transition = view.getUint8(1);
  if (!(transition in ConfChangeTransition)) throw bad(`unknown transition ${transition}`);
  const count = view.getUint16(2);
  let off = 4;
  if (bytes.byteLength < off + count * 9 + 4) throw bad('truncated changes');
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < count; i++) {
    const type = view.getUint8(off);
    if (!(type in ConfChangeType)) throw bad(`unknown change type ${type}`);
    const nodeId = view.getUint32(off + 1) * TWO_POW_32 + view.getUint32(off + 5);
    changes.push({ type, nodeId });
    off += 9;
  }
  const ctxLen = view.getUint32(off);
  off += 4;
  if (bytes.byteLength !== off + ctxLen) throw bad('context length mismatch');
  return { transition, changes, context: bytes.slice(off, off + ctxLen) };
}
