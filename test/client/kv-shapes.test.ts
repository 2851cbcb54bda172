/**
 * Proves the SDK builds etcd's wire requests as etcd clients do: prefix range ends, the
 * fluent transaction builder's compares and branches, endpoint parsing, and the bounded
 * async queue's back-pressure.
 */
import { describe, expect, it } from 'vitest';
import { AsyncQueue } from '../../src/client/async-queue.js';
import type { Connection } from '../../src/client/connection.js';
import { parseEndpoint } from '../../src/client/endpoints.js';
import { op } from '../../src/client/kv-ops.js';
import { prefixEnd, rangeEndOf } from '../../src/client/kv-types.js';
import { TxnBuilder } from '../../src/client/txn.js';

describe('ranges', () => {
  it('ends a prefix at the next key after it, carrying over 0xff', () => {
    expect(prefixEnd(Buffer.from('a/'))).toEqual(Buffer.from('a0'));
    expect(prefixEnd(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toEqual(Buffer.from([0]));
    expect(rangeEndOf(Buffer.alloc(0), { prefix: true })).toEqual(Buffer.from([0]));
    expect(rangeEndOf(Buffer.from('k'), {})).toEqual(Buffer.alloc(0));
    expect(() => rangeEndOf(Buffer.from('k'), { prefix: true, rangeEnd: 'z' })).toThrow(RangeError);
  });
});

describe('the transaction builder', () => {
  it('builds compares with etcd result and target numbers, and both branches in order', () => {
    const txn = new TxnBuilder({} as Connection)
      .if('a')
      .value('==', 'x')
      .if('b')
      .version('>', 2)
      .if('c')
      .modRevision('<', 9)
      .if('d')
      .createRevision('!=', 4)
      .if('e')
      .lease('==', 7)
      .success(op.put('a', 'y', { lease: 7 }), op.delete('p/', { prefix: true }))
      .failure(op.get('a'));
    const req = txn.toRequest();
    expect(req.compare.map((c: { result: number; target: number }) => [c.result, c.target])).toEqual([
      [0, 3],
      [1, 0],
      [2, 2],
      [3, 1],
      [0, 4],
    ]);
    expect(req.compare[0].value).toEqual(Buffer.from('x'));
    expect(req.compare[1].version).toBe(2);
    expect(req.success[0].request_put).toMatchObject({
      key: Buffer.from('a'),
      value: Buffer.from('y'),
      lease: 7,
    });
    expect(req.success[1].request_delete_range.range_end).toEqual(Buffer.from('p0'));
    expect(req.failure[0].request_range.key).toEqual(Buffer.from('a'));
    // Not a thenable: awaiting a builder must not run or swallow it.
    expect((txn as unknown as { then?: unknown }).then).toBeUndefined();
  });
});

describe('endpoints', () => {
  it('accepts host:port and http(s) URLs, and refuses the rest', () => {
    expect(parseEndpoint('127.0.0.1:2379')).toEqual({ address: '127.0.0.1:2379', secure: false });
    expect(parseEndpoint('https://db.example:2379')).toEqual({ address: 'db.example:2379', secure: true });
    expect(() => parseEndpoint('localhost')).toThrow(/host and a port/);
    expect(() => parseEndpoint('ftp://x:1')).toThrow(/scheme/);
  });
});

describe('the async queue', () => {
  it('pauses its source at the high-water mark and resumes at the low one', async () => {
    const flow: string[] = [];
    const q = new AsyncQueue<number>(
      { pause: () => flow.push('pause'), resume: () => flow.push('resume') },
      4,
      1,
    );
    for (let i = 0; i < 6; i++) q.push(i);
    expect(flow).toEqual(['pause']);
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push((await q.next()).value as number);
    expect(flow).toEqual(['pause', 'resume']);
    q.push(6);
    q.end();
    for await (const v of q) got.push(v);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('delivers queued items before the error it ended with', async () => {
    const q = new AsyncQueue<number>({ pause: () => undefined, resume: () => undefined });
    q.push(1);
    q.fail(new Error('boom'));
    expect((await q.next()).value).toBe(1);
    await expect(q.next()).rejects.toThrow('boom');
  });
});
