// Proves every command survives encode -> decode exactly (empty keys and values, large values, every optional field incl. explicit false/0, negative numbers, nested Txns, every compare target), that decoded bytes are independent of the entry buffer, and that corrupt entries are refused: by round-tripping representative and randomized commands.
import { describe, expect, it } from 'vitest';
import { ErrorCode, isCairnError } from '../../../src/common/errors.js';
import { binaryOf } from '../../../src/mvcc/binary-string.js';
import {
  type Command,
  type Compare,
  CompareResult,
  CompareTarget,
  decodeCommand,
  encodeCommand,
  type RequestOp,
  SortOrder,
  SortTarget,
  type TxnRequest,
} from '../../../src/mvcc/index.js';
import { b, newStore, prng } from '../support.js';

const roundTrip = (command: Command) => decodeCommand(encodeCommand(command));

describe('command codec round trips', () => {
  it('puts: minimal, full, empty key and value, explicit false and 0, negative lease', () => {
    const commands: Command[] = [
      { type: 'put', request: { key: b('k') } },
      { type: 'put', request: { key: new Uint8Array(0), value: new Uint8Array(0) } },
      {
        type: 'put',
        request: {
          key: b('k'),
          value: b('v'),
          lease: 2 ** 52 + 3,
          prevKv: true,
          ignoreValue: false,
          ignoreLease: false,
        },
      },
      { type: 'put', request: { key: b('k'), lease: 0, prevKv: false } },
      { type: 'put', request: { key: b('k'), lease: -5 } },
    ];
    for (const c of commands) expect(roundTrip(c)).toEqual(c);
  });

  it('a put with a large value (4 MiB of varied bytes)', () => {
    const value = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31) % 256);
    const decoded = roundTrip({ type: 'put', request: { key: Uint8Array.of(0, 255), value } });
    if (decoded.type !== 'put') throw new Error('decoded a different command type');
    expect(decoded.request.key).toEqual(Uint8Array.of(0, 255));
    // Buffer.equals: a deep toEqual over 4 Mi elements takes seconds.
    expect(Buffer.from(decoded.request.value!).equals(value)).toBe(true);
  });

  it('delete ranges, compactions and deleteKeys', () => {
    const commands: Command[] = [
      { type: 'deleteRange', request: { key: b('a') } },
      { type: 'deleteRange', request: { key: b('a'), rangeEnd: Uint8Array.of(0), prevKv: true } },
      { type: 'deleteRange', request: { key: b('a'), rangeEnd: new Uint8Array(0), prevKv: false } },
      { type: 'compact', request: { revision: 1 } },
      { type: 'compact', request: { revision: Number.MAX_SAFE_INTEGER, physical: true } },
      { type: 'deleteKeys', keys: [] },
      { type: 'deleteKeys', keys: [b('a'), new Uint8Array(0), Uint8Array.of(0, 0, 7)] },
    ];
    for (const c of commands) expect(roundTrip(c)).toEqual(c);
  });

  it('a txn with every compare target, every range option and nested txns', () => {
    const compares: Compare[] = [
      { result: CompareResult.Equal, target: CompareTarget.Version, key: b('k'), version: 3 },
      { result: CompareResult.Greater, target: CompareTarget.Create, key: b('k'), createRevision: 0 },
      {
        result: CompareResult.Less,
        target: CompareTarget.Mod,
        key: b('k'),
        rangeEnd: b('l'),
        modRevision: -1,
      },
      { result: CompareResult.NotEqual, target: CompareTarget.Value, key: b('k'), value: new Uint8Array(0) },
      {
        result: CompareResult.Equal,
        target: CompareTarget.Lease,
        key: b('k'),
        rangeEnd: Uint8Array.of(0),
        lease: 77,
      },
      { result: CompareResult.Equal, target: CompareTarget.Value, key: b('k') },
    ];
    const fullRange: RequestOp = {
      requestRange: {
        key: b('a'),
        rangeEnd: b('z'),
        limit: 10,
        revision: -1,
        sortOrder: SortOrder.Descend,
        sortTarget: SortTarget.Value,
        serializable: true,
        keysOnly: false,
        countOnly: true,
        minModRevision: 1,
        maxModRevision: 2,
        minCreateRevision: 3,
        maxCreateRevision: 4,
      },
    };
    const inner: TxnRequest = {
      compare: [],
      success: [{ requestPut: { key: b('x'), value: b('y') } }, { requestTxn: {} }],
      failure: [],
    };
    const c: Command = {
      type: 'txn',
      request: {
        compare: compares,
        success: [fullRange, { requestTxn: inner }, { requestDeleteRange: { key: b('d'), prevKv: true } }],
        failure: [{ requestRange: { key: b('only') } }],
      },
    };
    expect(roundTrip(c)).toEqual(c);
    expect(roundTrip({ type: 'txn', request: {} })).toEqual({ type: 'txn', request: {} });
  });

  it("a compare keeps only the operand its target reads (etcd's oneof)", () => {
    const c: Command = {
      type: 'txn',
      request: {
        compare: [
          {
            result: CompareResult.Equal,
            target: CompareTarget.Version,
            key: b('k'),
            version: 2,
            value: b('x'),
          },
        ],
      },
    };
    const decoded = roundTrip(c);
    expect(decoded.type === 'txn' && decoded.request.compare).toEqual([
      { result: CompareResult.Equal, target: CompareTarget.Version, key: b('k'), version: 2 },
    ]);
  });

  it('randomized nested txns round-trip', () => {
    const random = prng(42);
    const int = (n: number) => Math.floor(random() * n);
    const bytes = () => Uint8Array.from({ length: int(6) }, () => int(256));
    const op = (depth: number): RequestOp => {
      switch (int(depth > 3 ? 3 : 4)) {
        case 0:
          return {
            requestRange:
              random() < 0.5 ? { key: bytes() } : { key: bytes(), rangeEnd: bytes(), limit: int(5) },
          };
        case 1:
          return {
            requestPut: random() < 0.5 ? { key: bytes(), value: bytes() } : { key: bytes(), lease: int(1e9) },
          };
        case 2:
          return { requestDeleteRange: { key: bytes(), prevKv: random() < 0.5 } };
        default:
          return { requestTxn: txn(depth + 1) };
      }
    };
    const txn = (depth: number): TxnRequest => ({
      compare: Array.from({ length: int(3) }, () => ({
        result: int(4) as CompareResult,
        target: CompareTarget.Mod,
        key: bytes(),
        modRevision: int(100),
      })),
      success: Array.from({ length: int(4) }, () => op(depth)),
      failure: Array.from({ length: int(4) }, () => op(depth)),
    });
    for (let i = 0; i < 200; i++) {
      const c: Command = { type: 'txn', request: txn(0) };
      expect(roundTrip(c)).toEqual(c);
    }
  });

  it('a put is written into one buffer sized for it, whatever its value', () => {
    for (const valueBytes of [0, 1, 256, 5000]) {
      const c: Command = {
        type: 'put',
        request: { key: b('k/1'), value: new Uint8Array(valueBytes).fill(7), lease: 2 ** 50 },
      };
      const bytes = encodeCommand(c);
      expect(bytes.buffer.byteLength).toBe(48 + 3 + valueBytes);
      expect(decodeCommand(bytes)).toEqual(c);
    }
  });

  it('decoded byte strings are views of the entry, and the store applying them keeps none', () => {
    const entry = encodeCommand({ type: 'put', request: { key: b('key'), value: b('value') } });
    const decoded = decodeCommand(entry);
    expect(decoded).toEqual({ type: 'put', request: { key: b('key'), value: b('value') } });
    if (decoded.type !== 'put') throw new Error('not a put');
    expect(decoded.request.value!.buffer).toBe(entry.buffer);
    const store = newStore();
    const r = store.apply(decoded);
    if (!r.ok) throw r.error;
    entry.fill(0);
    const kv = store.versionAt(binaryOf(b('key')), store.currentRevision);
    expect(kv?.key).toEqual(b('key'));
    expect(kv?.value).toEqual(b('value'));
  });
});

describe('command codec refuses corrupt entries', () => {
  const expectCorrupt = (bytes: Uint8Array) => {
    let caught: unknown;
    try {
      decodeCommand(bytes);
    } catch (err) {
      caught = err;
    }
    expect(isCairnError(caught, ErrorCode.CORRUPT), String(caught)).toBe(true);
  };

  it('unknown format, unknown tag, truncation, trailing bytes, bad enums and bools', () => {
    const good = encodeCommand({ type: 'put', request: { key: b('k'), value: b('v'), prevKv: true } });
    expectCorrupt(Uint8Array.of(9, 1));
    expectCorrupt(Uint8Array.of(1, 99));
    expectCorrupt(good.subarray(0, good.length - 1));
    expectCorrupt(Uint8Array.from([...good, 0]));
    const badBool = good.slice();
    badBool[badBool.length - 1] = 2;
    expectCorrupt(badBool);
    const badSort = encodeCommand({
      type: 'txn',
      request: { success: [{ requestRange: { key: b('k'), sortOrder: SortOrder.Ascend } }] },
    });
    badSort[badSort.length - 1] = 9;
    expectCorrupt(badSort);
    expectCorrupt(new Uint8Array(0));
  });

  it('refuses to encode integers that are not safe', () => {
    expect(() => encodeCommand({ type: 'compact', request: { revision: 2 ** 60 } })).toThrow(/safe integer/);
  });
});
