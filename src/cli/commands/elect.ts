/**
 * `elect NAME PROPOSAL` and `elect NAME --listen`: leader election through the SDK
 * (client.election). Campaigning waits in line, prints once elected and holds leadership
 * until Ctrl-C or --count (then resigns) or the session is lost (exit 1); listening prints
 * the leader now and after every change.
 */
import type { KeyValue } from '../../client/kv-types.js';
import { bool, parseCount, str } from '../args.js';
import { aborted, type Command } from '../command.js';
import { CliError, ExitCode, UsageError } from '../exit-codes.js';
import { hexId, type Output, text } from '../output.js';

function printLeader(out: Output, name: string, kv: KeyValue): void {
  if (out.format === 'json') {
    out.json({
      name,
      key: text(kv.key),
      value: text(kv.value),
      rev: kv.createRevision,
      mod_revision: kv.modRevision,
      lease: hexId(kv.lease),
    });
  } else if (out.format === 'simple') {
    out.line(text(kv.key));
    out.line(text(kv.value));
  } else {
    const rev = out.style('dim', `rev ${kv.createRevision}`);
    out.line(`leader  ${out.style('cyan', text(kv.value))}  ${rev}  ${text(kv.key)}`);
  }
}

/** `elect NAME [PROPOSAL] [--listen]`. */
export const elect: Command = {
  name: 'elect',
  summary: 'campaign for leadership and hold it until Ctrl-C, or --listen to who leads',
  usage: `elect NAME PROPOSAL [--ttl SECONDS] [--count N]
       elect NAME --listen [--count N]
  PROPOSAL      the value this candidate leads with; prints the leader key once elected,
                holds leadership until Ctrl-C (then resigns) and exits 1 if the session is lost
  --ttl S       session lease TTL (default 10): how long leadership outlives a dead process
  --listen      print the leader now and after every change (-o json: one object per line)
  --count N     exit 0 after N leader observations (campaigning: the own election counts as the first)`,
  options: { listen: { type: 'boolean' }, count: { type: 'string' }, ttl: { type: 'string' } },
  arity: [1, 2],
  async run(ctx) {
    const [name, proposal] = ctx.args as [string, string | undefined];
    const listen = bool(ctx.flags, 'listen');
    if (listen && proposal !== undefined) throw new UsageError('--listen takes no PROPOSAL');
    if (!listen && proposal === undefined) throw new UsageError('PROPOSAL is required (or --listen)');
    const count = str(ctx.flags, 'count');
    const limit = count === undefined ? Number.POSITIVE_INFINITY : parseCount(count, '--count', { min: 1 });
    const ttlSeconds = parseCount(str(ctx.flags, 'ttl') ?? '10', '--ttl', { min: 1 });
    const election = ctx.client().election(name, { ttlSeconds });
    // Observing retries forever on an unreachable cluster: one read first fails fast and clearly.
    await election.leader();
    const out = ctx.out;
    if (listen) {
      const observer = election.observe({ signal: ctx.signal });
      let seen = 0;
      for await (const kv of observer) {
        printLeader(out, name, kv);
        if (++seen >= limit) break;
      }
      observer.close();
      return ExitCode.OK;
    }
    const leader = await election.campaign(proposal as string, { signal: ctx.signal });
    let observer: ReturnType<typeof election.observe> | undefined;
    try {
      if (out.format === 'json') {
        out.json({
          name,
          elected: true,
          key: text(leader.key),
          value: proposal as string,
          rev: leader.rev,
          lease: hexId(leader.lease),
        });
      } else if (out.format === 'simple') {
        out.line(text(leader.key));
      } else {
        out.line(
          `elected: ${out.style('cyan', text(leader.key))} (rev ${leader.rev}) leads with "${proposal}" (Ctrl-C resigns)`,
        );
      }
      const lost = new Promise<string>((resolve) => {
        const signal = election.signal;
        if (!signal || signal.aborted) resolve('leadership ended');
        else signal.addEventListener('abort', () => resolve('session lost'), { once: true });
      });
      const waits: Promise<string | undefined>[] = [aborted(ctx.signal).then(() => undefined), lost];
      if (limit !== Number.POSITIVE_INFINITY) {
        const watching = election.observe({ signal: ctx.signal });
        observer = watching;
        waits.push(
          (async () => {
            let seen = 0;
            for await (const _kv of watching) if (++seen >= limit) break;
            return undefined;
          })(),
        );
      }
      const reason = await Promise.race(waits);
      if (reason !== undefined && !ctx.signal.aborted) {
        throw new CliError(ExitCode.FAILED, `leadership of ${name} lost (${reason})`);
      }
      return ExitCode.OK;
    } finally {
      observer?.close();
      await election.resign({ deadlineMs: ctx.timeoutMs }).catch(() => undefined);
    }
  },
};
