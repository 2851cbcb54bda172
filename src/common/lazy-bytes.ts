/**
 * Bytes of a known length that are made piece by piece as they are read: a snapshot of a
 * large store is sent (to a peer, or to `etcdctl snapshot save`) without ever being built
 * in one piece, and its reader decides the pace. The length is known before the first
 * piece, as the wire formats that carry it announce it up front.
 */
import { assert } from './assert.js';

/** Bytes made in pieces on demand; every call of pieces() starts again from the first byte. */
export interface LazyBytes {
  /** Invariant: the pieces' lengths add up to this. */
  readonly byteLength: number;
  /** The bytes in order, made as the iteration asks for them. */
  pieces(): Iterable<Uint8Array>;
}

/** Plain bytes as LazyBytes (one piece). */
export function eagerBytes(bytes: Uint8Array): LazyBytes {
  return { byteLength: bytes.byteLength, pieces: () => [bytes] };
}

/** The concatenation of parts, each read only when the reader reaches it. */
export function concatBytes(...parts: readonly (Uint8Array | LazyBytes)[]): LazyBytes {
  const lazy = parts.map((p) => (p instanceof Uint8Array ? eagerBytes(p) : p));
  let byteLength = 0;
  for (const p of lazy) byteLength += p.byteLength;
  return {
    byteLength,
    *pieces() {
      for (const p of lazy) yield* checkedPieces(p);
    },
  };
}

/**
 * The bytes in chunks of exactly chunkBytes (the last one may be shorter), whatever the
 * pieces they are made in: a piece is cut without a copy, and only a chunk that spans two
 * pieces is copied together. The pieces are checked against the announced length: a
 * producer that makes more or fewer bytes than it announced is a defect, reported here
 * rather than as a corrupt transfer at the far end.
 */
export function* chunkedBytes(bytes: LazyBytes, chunkBytes: number): Generator<Uint8Array> {
  assert(Number.isInteger(chunkBytes) && chunkBytes > 0, 'chunks hold at least one byte');
  let pending: Uint8Array | undefined;
  let filled = 0;
  for (const piece of checkedPieces(bytes)) {
    let at = 0;
    while (at < piece.byteLength) {
      if (pending === undefined && piece.byteLength - at >= chunkBytes) {
        yield piece.subarray(at, at + chunkBytes);
        at += chunkBytes;
        continue;
      }
      pending ??= new Uint8Array(chunkBytes);
      const n = Math.min(chunkBytes - filled, piece.byteLength - at);
      pending.set(piece.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === chunkBytes) {
        yield pending;
        pending = undefined;
        filled = 0;
      }
    }
  }
  if (pending !== undefined) yield pending.subarray(0, filled);
}

/** All the bytes in one array (for tests, and for readers that need them whole). */
export function collectBytes(bytes: LazyBytes): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  let at = 0;
  for (const piece of checkedPieces(bytes)) {
    out.set(piece, at);
    at += piece.byteLength;
  }
  return out;
}

function* checkedPieces(bytes: LazyBytes): Generator<Uint8Array> {
  let made = 0;
  for (const piece of bytes.pieces()) {
    made += piece.byteLength;
    assert(made <= bytes.byteLength, () => `lazy bytes made more than the ${bytes.byteLength} announced`);
    if (piece.byteLength > 0) yield piece;
  }
  assert(made === bytes.byteLength, () => `lazy bytes made ${made} of the ${bytes.byteLength} announced`);
}
