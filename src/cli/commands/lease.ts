/** `lease grant | keep-alive | ttl | revoke | list`. */
import type { Lease } from '../../client/lease.js';
import { bool, parseCount, parseId } from '../args.js';
import { aborted, type Command } from '../command.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { hexId, text } from '../output.js';

/** `lease grant TTL`. */
export const leaseGrant: Command = {
  name: 'lease grant',
  summary: 'grant a lease (not kept alive: it runs out after TTL seconds)',
  usage: 'lease grant TTL_SECONDS',
  arity: [1, 1],
  async run(ctx) {
    const ttl = parseCount(ctx.args[0], 'TTL_SECONDS', { min: 1 });
    const lease = await ctx.client().leases.grant(ttl, { keepAlive: false });
    const out = ctx.out;
    if (out.format === 'json') out.json({ id: hexId(lease.id), ttl: lease.ttlSeconds });
    else if (out.format === 'simple') out.line(hexId(lease.id));
    else out.line(`lease ${out.style('cyan', hexId(lease.id))} granted with TTL(${lease.ttlSeconds}s)`);
    return ExitCode.OK;
  },
};

function notFound(id: number): CliError {
  return new CliError(ExitCode.NOT_FOUND, `lease ${hexId(id)} not found (expired or revoked)`);
}

/** `lease keep-alive ID`. */
export const leaseKeepAlive: Command = {
  name: 'lease keep-alive',
  summary: 'keep a lease alive until Ctrl-C (--once: renew once)',
  usage: `lease keep-alive ID [--once]
  Exits 0 on Ctrl-C, 3 when the lease does not exist or is revoked or expires meanwhile,
  1 when it is lost otherwise (its TTL ran out before a renewal got through).`,
  options: { once: { type: 'boolean' } },
  arity: [1, 1],
  async run(ctx) {
    const id = parseId(ctx.args[0] as string, 'ID');
    const leases = ctx.client().leases;
    const t = await leases.timeToLive(id);
    if (t.ttlSeconds < 0) throw notFound(id);
    const lease: Lease = leases.adopt(id, t.grantedTtlSeconds, t.ttlSeconds);
    const out = ctx.out;
    const once = bool(ctx.flags, 'once');
    return new Promise<number>((resolve) => {
      const finish = (code: number) => {
        lease.release();
        resolve(code);
      };
      lease.on('keepalive', (ttl) => {
        if (out.format === 'json') out.json({ id: hexId(id), ttl });
        else if (out.format === 'simple') out.line(String(ttl));
        else out.line(`lease ${hexId(id)} keepalived with TTL(${ttl}s)`);
        if (once) finish(ExitCode.OK);
      });
      lease.on('lost', (reason) => {
        out.error(`cairnctl lease keep-alive: lease ${hexId(id)} lost (${reason})`);
        finish(reason === 'revoked-or-expired-on-cluster' ? ExitCode.NOT_FOUND : ExitCode.FAILED);
      });
      void aborted(ctx.signal).then(() => finish(ExitCode.OK));
    });
  },
};

/** `lease ttl ID`. */
export const leaseTtl: Command = {
  name: 'lease ttl',
  summary: "a lease's remaining time (and keys with --keys)",
  usage: 'lease ttl ID [--keys]',
  options: { keys: { type: 'boolean' } },
  arity: [1, 1],
  async run(ctx) {
    const id = parseId(ctx.args[0] as string, 'ID');
    const t = await ctx.client().leases.timeToLive(id, { keys: bool(ctx.flags, 'keys') });
    if (t.ttlSeconds < 0) throw notFound(id);
    const out = ctx.out;
    const keys = t.keys.map(text);
    if (out.format === 'json') {
      out.json({ id: hexId(id), ttl: t.ttlSeconds, granted_ttl: t.grantedTtlSeconds, keys });
    } else if (out.format === 'simple') {
      out.line(String(t.ttlSeconds));
    } else {
      out.line(`lease ${hexId(id)} granted with TTL(${t.grantedTtlSeconds}s), remaining(${t.ttlSeconds}s)`);
      if (bool(ctx.flags, 'keys')) out.line(`attached keys(${keys.length}): [${keys.join(' ')}]`);
    }
    return ExitCode.OK;
  },
};

/** `lease revoke ID`. */
export const leaseRevoke: Command = {
  name: 'lease revoke',
  summary: 'revoke a lease (its keys are deleted)',
  usage: 'lease revoke ID',
  arity: [1, 1],
  async run(ctx) {
    const id = parseId(ctx.args[0] as string, 'ID');
    await ctx.client().leases.revoke(id);
    const out = ctx.out;
    if (out.format === 'json') out.json({ id: hexId(id), revoked: true });
    else out.line(`lease ${hexId(id)} revoked`);
    return ExitCode.OK;
  },
};

/** `lease list`. */
export const leaseList: Command = {
  name: 'lease list',
  summary: 'every lease on the cluster, with its remaining time',
  usage: 'lease list',
  arity: [0, 0],
  async run(ctx) {
    const leases = ctx.client().leases;
    const ids = await leases.list();
    // Remaining time for each (bounded: the first 1000 leases are detailed).
    const details = await Promise.all(
      ids.slice(0, 1000).map((id) => leases.timeToLive(id).catch(() => undefined)),
    );
    const ttlOf = (i: number) => details[i]?.ttlSeconds ?? -1;
    const out = ctx.out;
    if (out.format === 'json') {
      out.json({ leases: ids.map((id, i) => ({ id: hexId(id), ttl: ttlOf(i) })) });
    } else if (out.format === 'simple') {
      for (const id of ids) out.line(hexId(id));
    } else {
      out.line(`found ${ids.length} lease${ids.length === 1 ? '' : 's'}`);
      if (ids.length > 0)
        out.table(
          ['ID', 'REMAINING'],
          ids.map((id, i) => [hexId(id), ttlOf(i) < 0 ? '?' : `${ttlOf(i)}s`]),
        );
    }
    return ExitCode.OK;
  },
};
