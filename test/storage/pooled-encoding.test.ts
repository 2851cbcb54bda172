/**
 * Proves that the log's and the state machine's on-disk encodings, now cut from Node's shared
 * buffer pool, write every byte they return: the same input encodes to the same bytes whatever
 * the pool held before (filled with 0x00 or 0xff), and decodes back (entry) or opens (record).
 */
import { describe, expect, test } from 'vitest';
import { decodeEntry, encodeEntry } from '../../src/storage/entry-codec.js';
import { openRecord, sealRecord } from '../../src/storage/record-codec.js';

/** Fills what Buffer.allocUnsafe will hand out next with `byte`. */
function dirtyPool(byte: number): void {
  for (let i = 0; i < 64; i++) Buffer.allocUnsafe(100).fill(byte);
}

describe('pooled encodings', () => {
  test('an entry encodes to the same bytes whatever the pool held, and decodes back', () => {
    const entry = { term: 2 ** 40 + 3, index: 17, type: 1, data: new Uint8Array([1, 2, 3, 250]) };
    dirtyPool(0x00);
    const a = Uint8Array.from(encodeEntry(entry));
    dirtyPool(0xff);
    const b = Uint8Array.from(encodeEntry(entry));
    expect(b).toEqual(a);
    expect(decodeEntry(17, b)).toEqual(entry);
  });

  test('a record seals to the same bytes whatever the pool held, and opens', () => {
    const key = new Uint8Array([6, 0, 0, 0, 0, 0, 0, 0, 9]);
    const payload = new Uint8Array([9, 8, 7]);
    dirtyPool(0x00);
    const a = Uint8Array.from(sealRecord(key, payload));
    dirtyPool(0xff);
    const b = Uint8Array.from(sealRecord(key, payload));
    expect(b).toEqual(a);
    expect(openRecord(key, b)).toEqual(payload);
  });
});
