/**
 * The contract between cairnctl's dispatcher and its commands: a command is its spec (name,
 * usage, flags) plus run(ctx), which gets the parsed line, a lazily connected Client, the
 * printer, stdin, and a signal aborted on SIGINT, and resolves with the exit code.
 */
import type { Client } from '../client/client.js';
import type { CommandSpec, Flags } from './args.js';
import type { Output } from './output.js';

/** Everything a command runs with. */
export interface Context {
  /** Positional arguments after the command words. */
  args: string[];
  /** Arguments after `--`, for commands that run another program. */
  rest: string[];
  flags: Flags;
  out: Output;
  /** The client, connected on first use (commands that never call the cluster make none). */
  client(): Client;
  /** Deadline of each call (--command-timeout). */
  timeoutMs: number;
  /** The endpoints in use, as given. */
  endpoints: readonly string[];
  /** Aborted when the user presses Ctrl-C (SIGINT). */
  signal: AbortSignal;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

/** A runnable command. */
export interface Command extends CommandSpec {
  /** Runs it; resolves with the exit code. */
  run(ctx: Context): Promise<number>;
}

/** Reads all of stdin as text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Resolves when the signal aborts (never, if it never does). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
