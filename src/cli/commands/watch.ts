/** `watch`: prints changes to a key, a prefix or a range until SIGINT or --count events. */
import type { WatchEvent } from '../../client/watch.js';
import { bool, parseCount, str } from '../args.js';
import { aborted, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { text } from '../output.js';
import { kvJson } from './kv-json.js';

function print(out: Output, e: WatchEvent): void {
  const type = e.type === 'put' ? 'PUT' : 'DELETE';
  if (out.format === 'json') {
    out.json({ type, ...(kvJson(e.kv) as object), ...(e.prevKv ? { prev_kv: kvJson(e.prevKv) } : {}) });
  } else if (out.format === 'simple') {
    out.line(type);
    out.line(text(e.kv.key));
    if (e.type === 'put') out.line(text(e.kv.value));
  } else {
    const label = e.type === 'put' ? out.style('green', 'PUT   ') : out.style('red', 'DELETE');
    const rev = out.style('dim', `rev ${e.kv.modRevision}`);
    const value = e.type === 'put' ? `  ${text(e.kv.value)}` : '';
    const prev = e.prevKv ? out.style('dim', `  (was ${text(e.prevKv.value)})`) : '';
    out.line(`${label}  ${rev}  ${text(e.kv.key)}${value}${prev}`);
  }
}

/** `watch KEY [RANGE_END]`. */
export const watch: Command = {
  name: 'watch',
  summary: 'print changes to a key, prefix or range (until Ctrl-C or --count)',
  usage: `watch KEY [RANGE_END] [--prefix] [--rev N] [--prev-kv] [--count N]
  --prefix       every key starting with KEY
  --rev N        start from revision N (history included)
  --prev-kv      print each key's previous value
  --count N      exit 0 after N events
  -o json prints one JSON object per line.`,
  options: {
    prefix: { type: 'boolean' },
    rev: { type: 'string' },
    'prev-kv': { type: 'boolean' },
    count: { type: 'string' },
  },
  arity: [1, 2],
  async run(ctx) {
    const [key, rangeEnd] = ctx.args as [string, string | undefined];
    const rev = str(ctx.flags, 'rev');
    const count = str(ctx.flags, 'count');
    const limit = count === undefined ? Number.POSITIVE_INFINITY : parseCount(count, '--count', { min: 1 });
    const client = ctx.client();
    // A watch retries forever on an unreachable cluster: one read first fails fast and clearly.
    await client.kv.get(key, { countOnly: true });
    const watcher = client.watch(key, {
      ...(bool(ctx.flags, 'prefix') ? { prefix: true } : {}),
      ...(rangeEnd !== undefined ? { rangeEnd } : {}),
      ...(rev !== undefined ? { startRevision: parseCount(rev, '--rev', { min: 1 }) } : {}),
      prevKv: bool(ctx.flags, 'prev-kv'),
    });
    void aborted(ctx.signal).then(() => watcher.close());
    let seen = 0;
    for await (const e of watcher) {
      print(ctx.out, e);
      if (++seen >= limit) break;
    }
    watcher.close();
    return ExitCode.OK;
  },
};
