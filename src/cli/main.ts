#!/usr/bin/env node
/**
 * cairnctl's entry point: runs the command line with the process's streams, turns the first
 * SIGINT into an abort the running command handles (a second one exits at once), and exits
 * with the command's code once stdout is flushed.
 */
import { run } from './run.js';

const controller = new AbortController();
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
});
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // A closed pipe (cairnctl watch | head) ends the run quietly.
  if (err.code === 'EPIPE') process.exit(0);
});

const code = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
  env: process.env,
  stdin: process.stdin,
  signal: controller.signal,
});
process.exitCode = code;
// Leave nothing (a stream, a timer) holding the process open past its answer.
setTimeout(() => process.exit(code), 50).unref();
