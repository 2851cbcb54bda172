/**
 * The logger type every component takes, and the root logger's construction: pino, pretty
 * in a terminal, JSON otherwise. Components receive a child ({ component: 'raft' }) and log
 * an object first, a constant message second.
 */
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

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
    pretty({ sync: true, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }),
  );
}

/** A logger that drops everything, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
