/** put, get and del: the KV commands. */
import { bool, parseCount, parseId, str } from '../args.js';
import { type Command, readAll } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { text } from '../output.js';
import { KV_HEADERS, kvJson, kvRow } from './kv-json.js';

/** `put KEY [VALUE]`: writes a key (the value from stdin when not given). */
export const put: Command = {
  name: 'put',
  summary: 'write a key',
  usage: `put KEY [VALUE] [--lease ID] [--prev-kv]
  VALUE defaults to stdin.
  --lease ID     attach the key to a lease (hex, as lease grant prints it)
  --prev-kv      print the previous value too`,
  options: { lease: { type: 'string' }, 'prev-kv': { type: 'boolean' } },
  arity: [1, 2],
  async run(ctx) {
    const [key, given] = ctx.args as [string, string | undefined];
    const lease = str(ctx.flags, 'lease');
    const value = given ?? (await readAll(ctx.stdin)).replace(/\n$/, '');
    const r = await ctx.client().kv.put(key, value, {
      ...(lease !== undefined ? { lease: parseId(lease, '--lease') } : {}),
      prevKv: bool(ctx.flags, 'prev-kv'),
    });
    const out = ctx.out;
    if (out.format === 'json') {
      out.json({ revision: r.revision, ...(r.prevKv ? { prev_kv: kvJson(r.prevKv) } : {}) });
    } else {
      out.line(out.format === 'table' ? `${out.style('green', 'OK')} (revision ${r.revision})` : 'OK');
      if (r.prevKv)
        out.line(out.format === 'table' ? `previous: ${text(r.prevKv.value)}` : text(r.prevKv.value));
    }
    return ExitCode.OK;
  },
};

/** `get KEY [RANGE_END]`: reads a key, a prefix or a range. */
export const get: Command = {
  name: 'get',
  summary: 'read a key, a prefix or a range',
  usage: `get KEY [RANGE_END] [--prefix] [--rev N] [--limit N] [--keys-only] [--count-only] [--require]
  --prefix       every key starting with KEY
  --rev N        read as of revision N
  --limit N      at most N keys
  --keys-only    leave values out
  --count-only   print only how many keys match
  --require      exit 3 (not found) when nothing matches`,
  options: {
    prefix: { type: 'boolean' },
    rev: { type: 'string' },
    limit: { type: 'string' },
    'keys-only': { type: 'boolean' },
    'count-only': { type: 'boolean' },
    require: { type: 'boolean' },
  },
  arity: [1, 2],
  async run(ctx) {
    const [key, rangeEnd] = ctx.args as [string, string | undefined];
    const rev = str(ctx.flags, 'rev');
    const limit = str(ctx.flags, 'limit');
    const keysOnly = bool(ctx.flags, 'keys-only');
    const countOnly = bool(ctx.flags, 'count-only');
    const r = await ctx.client().kv.get(key, {
      ...(bool(ctx.flags, 'prefix') ? { prefix: true } : {}),
      ...(rangeEnd !== undefined ? { rangeEnd } : {}),
      ...(rev !== undefined ? { revision: parseCount(rev, '--rev', { min: 1 }) } : {}),
      ...(limit !== undefined ? { limit: parseCount(limit, '--limit') } : {}),
      keysOnly,
      countOnly,
    });
    const out = ctx.out;
    if (out.format === 'json') {
      out.json({ revision: r.revision, count: r.count, more: r.more, kvs: r.kvs.map(kvJson) });
    } else if (countOnly) {
      out.line(String(r.count));
    } else if (out.format === 'simple') {
      for (const kv of r.kvs) {
        out.line(text(kv.key));
        if (!keysOnly) out.line(text(kv.value));
      }
    } else if (r.kvs.length > 0) {
      if (keysOnly)
        out.table(
          ['KEY', 'VERSION', 'MOD_REV'],
          r.kvs.map((kv) => kvRow(kv).filter((_, i) => i === 0 || i === 2 || i === 3)),
        );
      else out.table(KV_HEADERS, r.kvs.map(kvRow));
      if (r.more) out.line(out.style('dim', `(${r.count - r.kvs.length} more; raise --limit)`));
    }
    if (r.count === 0 && bool(ctx.flags, 'require')) {
      out.error(`key not found: ${key}${bool(ctx.flags, 'prefix') ? ' (prefix)' : ''}`);
      return ExitCode.NOT_FOUND;
    }
    return ExitCode.OK;
  },
};

/** `del KEY [RANGE_END]`: deletes a key, a prefix or a range. */
export const del: Command = {
  name: 'del',
  summary: 'delete a key, a prefix or a range',
  usage: `del KEY [RANGE_END] [--prefix] [--prev-kv] [--require]
  --prefix       every key starting with KEY
  --prev-kv      print what was deleted
  --require      exit 3 (not found) when nothing was deleted`,
  options: { prefix: { type: 'boolean' }, 'prev-kv': { type: 'boolean' }, require: { type: 'boolean' } },
  arity: [1, 2],
  async run(ctx) {
    const [key, rangeEnd] = ctx.args as [string, string | undefined];
    const r = await ctx.client().kv.delete(key, {
      ...(bool(ctx.flags, 'prefix') ? { prefix: true } : {}),
      ...(rangeEnd !== undefined ? { rangeEnd } : {}),
      prevKv: bool(ctx.flags, 'prev-kv'),
    });
    const out = ctx.out;
    if (out.format === 'json') {
      out.json({ revision: r.revision, deleted: r.deleted, prev_kvs: r.prevKvs.map(kvJson) });
    } else if (out.format === 'simple') {
      out.line(String(r.deleted));
      for (const kv of r.prevKvs) out.line(`${text(kv.key)}\n${text(kv.value)}`);
    } else {
      out.line(
        `deleted ${r.deleted} key${r.deleted === 1 ? '' : 's'}${r.deleted > 0 ? ` (revision ${r.revision})` : ''}`,
      );
      if (r.prevKvs.length > 0) out.table(KV_HEADERS, r.prevKvs.map(kvRow));
    }
    if (r.deleted === 0 && bool(ctx.flags, 'require')) {
      out.error(`key not found: ${key}`);
      return ExitCode.NOT_FOUND;
    }
    return ExitCode.OK;
  },
};
