// Proves that LoadedRows (src/mvcc/loaded-rows.ts) gives back every record it was given, across the boundaries of its column chunks and after seal trims them: PUTs with values in storage (read when asked), empty PUTs and DELETEs, with revisions, versions and leases beyond 32 bits; that its snapshot sizes are those of the records; that a row takes only an equal key and only while loading; that no row is added after seal; and that a sub revision or value length beyond 32 bits, or a PUT with a stored value and no storage to read it from, is CORRUPT.
import { describe, expect, it } from 'vitest';
import { snapshotRecordBytes } from '../../src/mvcc/codec/record-size.js';
import { EventType, LoadedRows, type StoredValues } from '../../src/mvcc/index.js';
import { plain } from './support.js';

/** Storage whose value of (main, sub) is `main:sub`, counting its reads. */
function fakeValues(): StoredValues & { reads: number } {
  const values = {
    reads: 0,
    read(main: number, sub: number): Uint8Array {
      values.reads++;
      return new TextEncoder().encode(`${main}:${sub}`);
    },
    pin: () => ({ read: (main: number, sub: number) => values.read(main, sub), release: () => undefined }),
  };
  return values;
}

/** The fields of record i of the test's table: a DELETE every 7th, an empty PUT every 11th. */
function fieldsOf(i: number) {
  const main = 2 ** 33 + Math.floor(i / 3);
  const sub = i % 3;
  const key = `key/${i.toString(36)}`;
  if (i % 7 === 0)
    return { main, sub, type: EventType.Delete, key, length: 0, create: 0, version: 0, lease: 0 };
  const length = i % 11 === 0 ? 0 : `${main}:${sub}`.length;
  return {
    main,
    sub,
    type: EventType.Put,
    key,
    length,
    create: main - i,
    version: 2 ** 40 + i,
    lease: i % 5 ? 0 : 2 ** 50 + i,
  };
}

describe('LoadedRows', () => {
  it('gives back each record across chunk boundaries, before and after seal, reading values only when asked', () => {
    const values = fakeValues();
    const rows = new LoadedRows(values);
    const count = 150_000; // three chunks of 65,536 rows, the last one partly used
    const misnumbered: number[] = [];
    for (let i = 0; i < count; i++) {
      const f = fieldsOf(i);
      if (rows.add(f.main, f.sub, f.type, f.key, f.length, f.create, f.version, f.lease) !== i)
        misnumbered.push(i);
    }
    expect(misnumbered).toEqual([]);
    expect(rows.size).toBe(count);
    const check = () => {
      for (const i of [0, 1, 7, 11, 65_535, 65_536, 65_537, 131_071, 131_072, count - 1]) {
        const f = fieldsOf(i);
        const record = rows.record(i);
        const value = f.type === EventType.Put && f.length > 0 ? `${f.main}:${f.sub}` : '';
        expect(plain(record)).toEqual({
          main: f.main,
          sub: f.sub,
          type: f.type,
          key: f.key,
          value,
          createRevision: f.create,
          version: f.version,
          lease: f.lease,
        });
        expect([rows.main(i), rows.sub(i), rows.key(i), rows.isPut(i), rows.lease(i)]).toEqual([
          f.main,
          f.sub,
          f.key,
          f.type === EventType.Put,
          f.lease,
        ]);
        expect(rows.hasStoredValue(i)).toBe(value !== '');
        expect(rows.snapshotBytes(i)).toBe(snapshotRecordBytes(record));
      }
    };
    const readsBefore = values.reads;
    rows.record(1);
    expect(values.reads).toBe(readsBefore);
    check();
    rows.seal();
    check();
    expect(rows.size).toBe(count);
    expect(() => rows.record(count)).toThrow(/row 150000 of 150000/);
  });

  it('takes an equal key only, while loading; no row after seal', () => {
    const rows = new LoadedRows(fakeValues());
    const row = rows.add(5, 0, EventType.Put, 'k', 3, 5, 1, 0);
    const equal = ['k', 'x'].join('').slice(0, 1);
    rows.shareKey(row, equal);
    expect(rows.key(row)).toBe('k');
    expect(() => rows.shareKey(row, 'j')).toThrow(/equal key/);
    rows.seal();
    expect(() => rows.shareKey(row, 'k')).toThrow(/while loading/);
    expect(() => rows.add(6, 0, EventType.Delete, 'k', 0, 0, 0, 0)).toThrow(/while loading only/);
  });

  it('refuses a sub revision or a value length beyond 32 bits (damage) as CORRUPT, instead of cutting it', () => {
    const rows = new LoadedRows(fakeValues());
    expect(() => rows.add(5, 2 ** 32, EventType.Delete, 'k', 0, 0, 0, 0)).toThrow(
      expect.objectContaining({ code: 'CORRUPT', message: expect.stringMatching(/beyond 32 bits/) }),
    );
    expect(() => rows.add(5, 0, EventType.Put, 'k', 2 ** 32, 5, 1, 0)).toThrow(/beyond 32 bits/);
    expect(rows.add(5, 2 ** 32 - 1, EventType.Put, 'k', 3, 5, 1, 0)).toBe(0);
    expect(rows.sub(0)).toBe(2 ** 32 - 1);
  });

  it('refuses a PUT with a stored value when it has no storage to read it from, as CORRUPT', () => {
    const rows = new LoadedRows();
    expect(rows.add(5, 0, EventType.Put, 'k', 0, 5, 1, 0)).toBe(0);
    expect(rows.add(6, 0, EventType.Delete, 'k', 0, 0, 0, 0)).toBe(1);
    expect(() => rows.add(7, 0, EventType.Put, 'k', 3, 7, 1, 0)).toThrow(
      expect.objectContaining({
        code: 'CORRUPT',
        message: expect.stringMatching(/revision 7 keeps its values in storage/),
      }),
    );
  });
});
