/**
 * `lock NAME [-- CMD ARGS...]`, `lock list`, `lock describe NAME`: fenced locks through the
 * SDK (client.lock, client.locks). The lock lives in a lease of its own that this process
 * keeps alive; CMD runs with CAIRN_FENCING_TOKEN (and CAIRN_LOCK_KEY) in its environment and
 * is stopped (SIGTERM) if the lock is lost. Without CMD the lock is held until Ctrl-C. The
 * lock is released on every way out.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { LockHandle, LockLostReason } from '../../client/lock-handle.js';
import { parseCount, parseDurationMs, str } from '../args.js';
import { aborted, type Command, type Context } from '../command.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { hexId, text } from '../output.js';

/** Resolves with the reason once the held lock is lost. */
function lostOf(held: LockHandle): Promise<LockLostReason> {
  return new Promise((resolve) => {
    if (held.lost !== undefined) resolve(held.lost);
    else held.once('lost', resolve);
  });
}

function runHolding(ctx: Context, held: LockHandle, lost: Promise<LockLostReason>): Promise<number> {
  const [cmd, ...args] = ctx.rest as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: 'inherit',
      env: {
        ...ctx.env,
        CAIRN_FENCING_TOKEN: String(held.fencingToken),
        CAIRN_LOCK_KEY: held.key.toString('utf8'),
      },
    });
    let lostLock = false;
    void lost.then(() => {
      if (child.exitCode !== null) return;
      lostLock = true;
      ctx.out.error('cairnctl lock: the lock was lost: stopping the command (SIGTERM)');
      child.kill('SIGTERM');
    });
    void aborted(ctx.signal).then(() => child.kill('SIGINT'));
    child.on('error', (err) => {
      ctx.out.error(`cairnctl lock: cannot run ${cmd}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      if (lostLock) resolve(ExitCode.FAILED);
      else resolve(code ?? (signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.FAILED));
    });
  });
}

/** `lock NAME [-- CMD ARGS...]`. */
export const lock: Command = {
  name: 'lock',
  summary: 'take a fenced lock; run a command holding it (CAIRN_FENCING_TOKEN) or hold until Ctrl-C',
  usage: `lock NAME [--ttl SECONDS] [--wait D] [--owner TEXT] [-- CMD ARGS...]
  --ttl S        TTL of the lock's lease (default 10); the lock is lost if this process stops renewing
  --wait D       give up after waiting D in line (exit 6)
  --owner TEXT   who holds it, shown by lock describe (default: host:pid)
  With CMD: runs it with CAIRN_FENCING_TOKEN and CAIRN_LOCK_KEY set, releases the lock when it
  exits, and exits with its code (1 if the lock was lost meanwhile: CMD got SIGTERM).
  Without CMD: prints the key and fencing token and holds the lock until Ctrl-C.`,
  options: { ttl: { type: 'string' }, wait: { type: 'string' }, owner: { type: 'string' } },
  arity: [1, 1],
  passThrough: true,
  async run(ctx) {
    const name = ctx.args[0] as string;
    const ttlSeconds = parseCount(str(ctx.flags, 'ttl') ?? '10', '--ttl', { min: 1 });
    const wait = str(ctx.flags, 'wait');
    const waitMs = wait === undefined ? 0 : parseDurationMs(wait, '--wait');
    const held = await ctx.client().lock(name, {
      ttlSeconds,
      owner: str(ctx.flags, 'owner') ?? `${hostname()}:${process.pid}`,
      waitTimeoutMs: waitMs,
      signal: ctx.signal,
    });
    const lost = lostOf(held);
    const out = ctx.out;
    try {
      if (ctx.rest.length > 0) return await runHolding(ctx, held, lost);
      if (out.format === 'json') {
        out.json({
          name,
          key: held.key.toString('utf8'),
          fencing_token: held.fencingToken,
          lease: hexId(held.lease.id),
        });
      } else {
        out.line(held.key.toString('utf8'));
        out.line(
          out.format === 'table'
            ? `fencing token ${held.fencingToken} (Ctrl-C releases)`
            : String(held.fencingToken),
        );
      }
      const reason = await Promise.race([aborted(ctx.signal).then(() => undefined), lost]);
      if (reason !== undefined) throw new CliError(ExitCode.FAILED, `lock lost (${reason})`);
      return ExitCode.OK;
    } finally {
      await held.release({ deadlineMs: ctx.timeoutMs }).catch(() => undefined);
    }
  },
};

/** `lock describe NAME`. */
export const lockDescribe: Command = {
  name: 'lock describe',
  summary: 'the holder of a lock and its waiters (exit 3 when nobody holds or waits)',
  usage: 'lock describe NAME',
  arity: [1, 1],
  async run(ctx) {
    const name = ctx.args[0] as string;
    const d = await ctx.client().locks.describe(name);
    const out = ctx.out;
    if (out.format === 'json') {
      out.json({
        name,
        held: d.held,
        holder: d.holder
          ? {
              key: text(d.holder.key),
              owner: d.holder.owner,
              fencing_token: d.holder.fencingToken,
              lease: hexId(d.holder.lease),
              acquired_at_revision: d.holder.acquiredAtRevision,
              remaining_ttl: d.holder.remainingTtlSeconds,
            }
          : null,
        waiters: d.waiters.map((w) => ({
          key: text(w.key),
          owner: w.owner,
          lease: hexId(w.lease),
          create_revision: w.createRevision,
        })),
        more_waiters: d.moreWaiters,
      });
    } else if (d.holder) {
      out.table(
        ['ROLE', 'KEY', 'OWNER', 'TOKEN/REV', 'LEASE'],
        [
          [
            'holder',
            text(d.holder.key),
            d.holder.owner,
            String(d.holder.fencingToken),
            hexId(d.holder.lease),
          ],
          ...d.waiters.map((w) => [
            'waiting',
            text(w.key),
            w.owner,
            String(w.createRevision),
            hexId(w.lease),
          ]),
        ],
      );
    }
    if (!d.held) {
      out.error(`lock ${name} is not held`);
      return ExitCode.NOT_FOUND;
    }
    return ExitCode.OK;
  },
};

/** `lock list [PREFIX]`. */
export const lockList: Command = {
  name: 'lock list',
  summary: 'locks under a prefix with holder and waiters',
  usage: `lock list PREFIX [--limit N]
  PREFIX should hold only locks (their keys are NAME/<lease hex>).`,
  options: { limit: { type: 'string' } },
  arity: [1, 1],
  async run(ctx) {
    const limit = parseCount(str(ctx.flags, 'limit') ?? '1000', '--limit', { min: 1 });
    const r = await ctx.client().locks.list(ctx.args[0] as string, { limit });
    const out = ctx.out;
    if (out.format === 'json') {
      out.json({
        locks: r.locks.map((l) => ({
          name: text(l.name),
          owner: l.holder.owner,
          fencing_token: l.holder.fencingToken,
          waiters: l.waiters,
        })),
        more: r.more,
      });
    } else if (out.format === 'simple') {
      for (const l of r.locks) out.line(text(l.name));
    } else {
      out.table(
        ['NAME', 'OWNER', 'TOKEN', 'WAITERS'],
        r.locks.map((l) => [text(l.name), l.holder.owner, String(l.holder.fencingToken), String(l.waiters)]),
      );
    }
    return ExitCode.OK;
  },
};
