/**
 * Where the replicated auth state lives in the state machine's key space and its snapshots:
 * one record under the key [5] holding the whole serialized AuthStore (it is small and
 * changes rarely), and a snapshot trailer ("AUTH" magic after the state and its u32 length)
 * appended after the alarm trailer. A snapshot without the magic carries no auth state.
 */
import { CairnError, ErrorCode } from '../common/errors.js';

/** The state-machine key of the auth record: one byte, distinct from meta [0] and registry meta [4]. */
export const AUTH_STATE_KEY = new Uint8Array([5]);

/** Whether a state-machine key is the auth record. */
export function isAuthStateKey(key: Uint8Array): boolean {
  return key.byteLength === 1 && key[0] === AUTH_STATE_KEY[0];
}

const MAGIC = new Uint8Array([0x41, 0x55, 0x54, 0x48]);

/** The serialized auth state as a trailer to a snapshot body (after the alarm trailer). */
export function authTrailer(auth: Uint8Array): Uint8Array {
  const out = new Uint8Array(auth.byteLength + 8);
  out.set(auth, 0);
  new DataView(out.buffer).setUint32(auth.byteLength, auth.byteLength);
  out.set(MAGIC, auth.byteLength + 4);
  return out;
}

/** Splits a snapshot into its body and the auth state of its trailer (undefined: none). */
export function splitAuthTrailer(data: Uint8Array): { body: Uint8Array; auth: Uint8Array | undefined } {
  const n = data.byteLength;
  const hasMagic = n >= 8 && MAGIC.every((b, i) => data[n - 4 + i] === b);
  if (!hasMagic) return { body: data, auth: undefined };
  const len = new DataView(data.buffer, data.byteOffset, n).getUint32(n - 8);
  const start = n - 8 - len;
  if (start < 0) throw new CairnError(ErrorCode.CORRUPT, 'snapshot auth trailer is truncated');
  return { body: data.subarray(0, start), auth: data.subarray(start, n - 8) };
}
