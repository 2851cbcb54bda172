/** The text of `cairnctl help` and `cairnctl CMD --help`. */

import type { CommandSpec } from './args.js';
import { GLOBAL_HELP } from './args.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

/** The overview: every command, the global flags and the exit codes. */
export function mainHelp(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands
    .filter((c) => c.name !== 'help')
    .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `cairnctl: operate a Cairn cluster (or any etcd v3 cluster)

Usage: cairnctl [global flags] COMMAND [args] [flags]

Commands:
${list}

${GLOBAL_HELP}

${EXIT_CODES_HELP}

Ids (leases, members) are hex, as printed. lock, members and txn-records use Cairn's own
services (LockService, MembershipService, CoordinatorService); the rest, elect included, also
work against etcd. \`cairnctl COMMAND --help\` shows a command's flags.`;
}

/** One command's usage. */
export function commandHelp(spec: CommandSpec): string {
  return `${spec.summary}\n\nUsage: cairnctl ${spec.usage}\n\n${GLOBAL_HELP}\n\n${EXIT_CODES_HELP}`;
}
