/**
 * cairnctl's command line: the global flags every command takes, the shape of a command,
 * and the parsing of argv (node:util parseArgs) into the command to run, its positional
 * arguments and its flags. Mistakes become UsageErrors (exit 2).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './exit-codes.js';

/** The options table parseArgs takes. */
export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Flag values as parseArgs gives them. */
export type Flags = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** Flags every command accepts. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  endpoints: { type: 'string' },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  user: { type: 'string' },
  'command-timeout': { type: 'string' },
  output: { type: 'string', short: 'o' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** The help text of the global flags. */
export const GLOBAL_HELP = `Global flags:
  --endpoints A,B,...     endpoints, host:port or http(s)://host:port
                          (default: $CAIRN_ENDPOINTS, else 127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379)
  --cacert FILE           CA bundle that signed the servers' certificates
  --cert FILE, --key FILE client certificate and key (for client-cert-auth)
  --user NAME:PASSWORD    authenticate as this user (clusters with auth enabled)
  --command-timeout D     deadline of each call: 5s, 500ms, 1m; a bare number is seconds (default 5s)
  -o, --output FORMAT     table (default), json (one object; watch: one per line), simple
  --no-color              no colour (also when NO_COLOR is set or stdout is not a terminal)
  -h, --help              usage of cairnctl or of a command`;

/** Output formats. */
export type OutputFormat = 'table' | 'json' | 'simple';

/** What a command gets to work with besides the client. */
export interface CommandSpec {
  /** 'put', or 'lease grant' for a subcommand. */
  name: string;
  /** One line: what it does. */
  summary: string;
  /** Usage line(s) after `cairnctl `, and flag descriptions. */
  usage: string;
  /** The command's own flags. */
  options?: OptionSpecs;
  /** Positional arguments: [min, max] (max Infinity for any). */
  arity: [number, number];
  /** Takes `-- CMD ARGS...` after its arguments. */
  passThrough?: boolean;
}

/** A parsed command line. */
export interface ParsedLine {
  /** The command name as the table lists it ('help' when none was given). */
  command: string;
  positionals: string[];
  /** Arguments after `--`. */
  rest: string[];
  flags: Flags;
}

const GLOBAL_VALUE_FLAGS = new Set([
  '--endpoints',
  '--cacert',
  '--cert',
  '--key',
  '--user',
  '--command-timeout',
  '--output',
  '-o',
]);

/** The words before the first flag that name a command (skipping global flags and their values). */
export function commandWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (GLOBAL_VALUE_FLAGS.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  return words;
}

/** Finds the command a line names among `specs` (two words for a subcommand, else one). */
export function findCommand(argv: readonly string[], specs: readonly CommandSpec[]): CommandSpec | undefined {
  const words = commandWords(argv);
  if (words.length === 0) return undefined;
  const two = words.slice(0, 2).join(' ');
  return specs.find((s) => s.name === two) ?? specs.find((s) => s.name === words[0]);
}

/** Parses argv for one command: its flags plus the global ones, positionals after the command words. */
export function parseLine(argv: readonly string[], spec: CommandSpec): ParsedLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, ...(spec.options ?? {}) },
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''), spec.name);
  }
  const tokens = parsed.tokens ?? [];
  const terminator = tokens.findIndex((t) => t.kind === 'option-terminator');
  const before: string[] = [];
  const rest: string[] = [];
  tokens.forEach((t, i) => {
    if (t.kind !== 'positional') return;
    if (terminator >= 0 && i > terminator) rest.push(t.value);
    else before.push(t.value);
  });
  const nameWords = spec.name.split(' ').length;
  const positionals = before.slice(nameWords);
  if (!parsed.values.help) {
    if (rest.length > 0 && !spec.passThrough) {
      positionals.push(...rest);
      rest.length = 0;
    }
    const [min, max] = spec.arity;
    if (positionals.length < min) throw new UsageError('missing argument(s)', spec.name);
    if (positionals.length > max) {
      throw new UsageError(`unexpected argument "${positionals[max]}"`, spec.name);
    }
  }
  return { command: spec.name, positionals, rest, flags: parsed.values as Flags };
}

/** Parses a duration: 5s, 500ms, 2m, 1h; a bare number is seconds. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: "${text}" is not a duration (5s, 500ms, 2m)`);
  const n = Number(m[1]);
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(n * unitMs);
  if (ms <= 0) throw new UsageError(`${flag}: must be more than 0`);
  return ms;
}

/** Parses a non-negative integer flag or argument. */
export function parseCount(
  text: string | undefined,
  what: string,
  { min = 0 }: { min?: number } = {},
): number {
  if (text === undefined) throw new UsageError(`${what} is required`);
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${what}: "${text}" is not a whole number`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${what}: must be at least ${min}`);
  return n;
}

/** Parses an id as cairnctl prints them (hex, as etcdctl does), with or without 0x. */
export function parseId(text: string, what: string): number {
  const t = text.trim().toLowerCase().replace(/^0x/, '');
  const n = Number.parseInt(t, 16);
  if (!/^[0-9a-f]+$/.test(t) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${what}: "${text}" is not an id (hex, as printed: e.g. 694d6e2c1a63f0d5)`);
  }
  return n;
}

/** The string value of a flag (undefined when absent). */
export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** Whether a boolean flag is set. */
export function bool(flags: Flags, name: string): boolean {
  return flags[name] === true;
}
