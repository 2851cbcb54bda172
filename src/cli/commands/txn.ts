/** `txn`: one transaction read in etcdctl's text format from stdin (interactive on a terminal) or --file. */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { OpResult } from '../../client/kv-ops.js';
import { str } from '../args.js';
import { type Command, readAll } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { Json, Output } from '../output.js';
import { text } from '../output.js';
import { KV_HEADERS, kvJson, kvRow } from './kv-json.js';
import { parseTxn } from './txn-format.js';

const PROMPTS = ['compares:', 'success requests (get, put, del):', 'failure requests (get, put, del):'];

/** Reads the three blocks from a terminal, prompting for each on stderr. */
async function readInteractive(stdin: NodeJS.ReadableStream, prompt: (s: string) => void): Promise<string> {
  const rl = createInterface({ input: stdin, terminal: false });
  const lines: string[] = [];
  let block = 0;
  prompt(PROMPTS[0] as string);
  for await (const line of rl) {
    lines.push(line);
    if (line.trim() === '') {
      block++;
      if (block === 3) break;
      prompt(`\n${PROMPTS[block]}`);
    }
  }
  rl.close();
  return lines.join('\n');
}

function resultJson(r: OpResult): Json {
  switch (r.kind) {
    case 'get':
      return { type: 'get', count: r.count, more: r.more, kvs: r.kvs.map(kvJson) };
    case 'put':
      return { type: 'put', ...(r.prevKv ? { prev_kv: kvJson(r.prevKv) } : {}) };
    case 'delete':
      return { type: 'delete', deleted: r.deleted, prev_kvs: r.prevKvs.map(kvJson) };
  }
}

function printResult(out: Output, r: OpResult): void {
  if (out.format === 'simple') {
    if (r.kind === 'put') out.line('OK');
    else if (r.kind === 'delete') out.line(String(r.deleted));
    else for (const kv of r.kvs) out.line(`${text(kv.key)}\n${text(kv.value)}`);
    return;
  }
  if (r.kind === 'put') out.line('put: OK');
  else if (r.kind === 'delete') out.line(`del: deleted ${r.deleted}`);
  else if (r.kvs.length === 0) out.line('get: (no keys)');
  else out.table(KV_HEADERS, r.kvs.map(kvRow));
}

/** `txn [--file FILE]`. */
export const txn: Command = {
  name: 'txn',
  summary: 'run one transaction: compares, success ops, failure ops (stdin or --file)',
  usage: `txn [--file FILE]
  Reads three blocks separated by an empty line (etcdctl's format):
    compares:   mod("k") > "0" | value("k") = "v" | ver("k") != "2" | create("k") = "0" | lease("k") = "1f"
    success:    put KEY VALUE [--lease=ID] | get KEY [RANGE_END] [--prefix] | del KEY [RANGE_END] [--prefix]
    failure:    same operations
  Quote words with spaces: put k "two words". Exit 0 when the compares held, 1 when the
  failure branch ran.`,
  options: { file: { type: 'string', short: 'f' } },
  arity: [0, 0],
  async run(ctx) {
    const file = str(ctx.flags, 'file');
    let source: string;
    if (file !== undefined) {
      try {
        source = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(
          `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    } else if ((ctx.stdin as { isTTY?: boolean }).isTTY) {
      source = await readInteractive(ctx.stdin, (s) => ctx.out.error(s));
    } else {
      source = await readAll(ctx.stdin);
    }
    const parsed = parseTxn(source);
    const builder = ctx.client().kv.txn();
    for (const c of parsed.compares) {
      const on = builder.if(c.key);
      if (c.target === 'value') on.value(c.operator, String(c.operand));
      else if (c.target === 'version') on.version(c.operator, Number(c.operand));
      else if (c.target === 'create') on.createRevision(c.operator, Number(c.operand));
      else if (c.target === 'mod') on.modRevision(c.operator, Number(c.operand));
      else on.lease(c.operator, Number(c.operand));
    }
    const r = await builder
      .success(...parsed.success)
      .failure(...parsed.failure)
      .commit();
    const out = ctx.out;
    if (out.format === 'json') {
      out.json({ succeeded: r.succeeded, revision: r.revision, responses: r.responses.map(resultJson) });
    } else {
      const verdict = r.succeeded ? 'SUCCESS' : 'FAILURE';
      out.line(out.format === 'table' ? out.style(r.succeeded ? 'green' : 'yellow', verdict) : verdict);
      for (const res of r.responses) {
        out.line();
        printResult(out, res);
      }
    }
    return r.succeeded ? ExitCode.OK : ExitCode.FAILED;
  },
};
