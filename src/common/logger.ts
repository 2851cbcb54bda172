/**
 * The logger type every component takes, and the root logger's construction: pino, pretty
 * in a terminal, JSON otherwise. Components receive a child ({ component: 'raft' }) and log
 * an object first, a constant message second.
 */
import { createRequire } from 'node:module';
import { type Logger, pino } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/**
 * pino-pretty, loaded only for a logger that uses it: a member logging JSON (every member a
 * script or a service manager starts) does not pay for its 29 modules at start-up.
 */
function prettyStream(options: PinoPretty.PrettyOptions): PinoPretty.PrettyStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pretty(options);
}

/** Builds the root logger of a process with its member name bound. */
export function createRootLogger(opts: {
  name: string;
  level: string;
  pretty?: boolean | undefined;
}): Logger {
  const usePretty = opts.pretty ?? process.stdout.isTTY === true;
  const base = { member: opts.name };
  if (!usePretty) return pino({ level: opts.level, base });
  return pino(
    { level: opts.level, base },
    prettyStream({ sync: true, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }),
  );
}

/** A logger that drops everything, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
