/**
 * cairnctl's dispatcher: finds the command, parses the line, builds the printer and (on
 * first use) the client from the global flags and CAIRN_ENDPOINTS, runs the command, and
 * turns whatever it failed with into an exit code and a helpful message on stderr (plain
 * endpoints that cannot be reached are probed for TLS, to name a TLS mismatch as one).
 */
import { Client } from '../client/client.js';
import { DEFAULT_ENDPOINTS, type TlsOptions } from '../client/endpoints.js';
import { type CommandSpec, findCommand, type OutputFormat, parseDurationMs, parseLine, str } from './args.js';
import type { Command, Context } from './command.js';
import { COMMANDS } from './commands/index.js';
import { type ConnectionFacts, ExitCode, explain, UsageError } from './exit-codes.js';
import { commandHelp, mainHelp } from './help.js';
import { Output, type Streams } from './output.js';
import { tlsOnlyEndpoints } from './tls-probe.js';

/** What a run needs from its process (injectable for tests). */
export interface RunIo extends Streams {
  stdin: NodeJS.ReadableStream;
  /** Aborted on SIGINT. */
  signal: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 5_000;

function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table';
  if (value === 'table' || value === 'json' || value === 'simple') return value;
  throw new UsageError(`--output must be table, json or simple, not "${value}"`);
}

/** Runs one command line; resolves with the exit code. */
export async function run(argv: readonly string[], io: RunIo): Promise<number> {
  const plain = new Output(io, 'table', true);
  const command = findCommand(argv, COMMANDS);
  const words = argv.filter((a) => !a.startsWith('-'));
  if (!command || command.name === 'help') {
    if (words.length === 0 || command?.name === 'help') {
      const topic = command?.name === 'help' ? words.slice(1).join(' ') : '';
      const target = topic === '' ? undefined : findCommand(topic.split(' '), COMMANDS);
      if (topic !== '' && !target) {
        plain.error(`cairnctl: unknown command "${topic}"\n\n${mainHelp(COMMANDS)}`);
        return ExitCode.USAGE;
      }
      plain.line(target ? commandHelp(target) : mainHelp(COMMANDS));
      return ExitCode.OK;
    }
    const group = COMMANDS.filter((c) => c.name.startsWith(`${words[0]} `)).map((c) => c.name.split(' ')[1]);
    if (group.length > 0) {
      plain.error(
        `cairnctl ${words[0]}: which one? ${group.join(', ')} (see cairnctl help ${words[0]} ${group[0]})`,
      );
      return ExitCode.USAGE;
    }
    plain.error(
      `cairnctl: unknown command "${words.slice(0, 2).join(' ')}"; run \`cairnctl help\` for the list`,
    );
    return ExitCode.USAGE;
  }
  let facts: ConnectionFacts = {
    endpoints: DEFAULT_ENDPOINTS,
    tls: false,
    caGiven: false,
    timeoutMs: DEFAULT_TIMEOUT_MS,
  };
  let client: Client | undefined;
  try {
    const line = parseLine(argv, command);
    if (line.flags.help) {
      plain.line(commandHelp(command));
      return ExitCode.OK;
    }
    const out = new Output(io, outputFormat(str(line.flags, 'output')), line.flags['no-color'] === true);
    const endpoints = endpointsOf(str(line.flags, 'endpoints') ?? io.env.CAIRN_ENDPOINTS);
    const timeout = str(line.flags, 'command-timeout');
    const timeoutMs =
      timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDurationMs(timeout, '--command-timeout');
    const tls = tlsOf(line.flags);
    const auth = userOf(str(line.flags, 'user'));
    facts = {
      endpoints,
      tls: tls !== undefined || endpoints.some((e) => e.startsWith('https://')),
      caGiven: tls?.caFile !== undefined,
      timeoutMs,
    };
    const ctx: Context = {
      args: line.positionals,
      rest: line.rest,
      flags: line.flags,
      out,
      timeoutMs,
      endpoints,
      signal: io.signal,
      stdin: io.stdin,
      env: io.env,
      client() {
        if (!client) {
          try {
            client = new Client({
              endpoints,
              deadlineMs: timeoutMs,
              ...(tls ? { tls } : {}),
              ...(auth ? { auth } : {}),
            });
          } catch (err) {
            throw new UsageError((err as Error).message);
          }
        }
        return client;
      },
    };
    return await (command as Command).run(ctx);
  } catch (err) {
    let { exitCode, message } = explain(err, facts);
    if (exitCode === ExitCode.UNREACHABLE && !facts.tls)
      ({ exitCode, message } = explain(err, { ...facts, tlsOnly: await tlsOnlyEndpoints(facts.endpoints) }));
    plain.error(`cairnctl ${command.name}: ${message}`);
    if (err instanceof UsageError)
      plain.error(`usage: cairnctl ${usageLine(command)} (see cairnctl ${command.name} --help)`);
    return exitCode;
  } finally {
    await client?.close({ revokeSessions: true }).catch(() => undefined);
  }
}

function usageLine(spec: CommandSpec): string {
  return spec.usage.split('\n')[0] ?? spec.name;
}

function endpointsOf(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [...DEFAULT_ENDPOINTS];
  const list = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (list.length === 0) throw new UsageError('--endpoints is empty');
  return list;
}

/** --user NAME:PASSWORD (split at the first colon, as etcdctl's --user). */
function userOf(value: string | undefined): { username: string; password: string } | undefined {
  if (value === undefined) return undefined;
  const at = value.indexOf(':');
  if (at <= 0) throw new UsageError('--user takes NAME:PASSWORD');
  return { username: value.slice(0, at), password: value.slice(at + 1) };
}

function tlsOf(flags: Context['flags']): TlsOptions | undefined {
  const caFile = str(flags, 'cacert');
  const certFile = str(flags, 'cert');
  const keyFile = str(flags, 'key');
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError('--cert and --key go together');
  return {
    ...(caFile !== undefined ? { caFile } : {}),
    ...(certFile !== undefined ? { certFile } : {}),
    ...(keyFile !== undefined ? { keyFile } : {}),
  };
}
