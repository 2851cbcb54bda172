/** `snapshot save FILE`: streams a snapshot from one member into a file, checked against its SHA-256. */
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { humanBytes } from '../output.js';

/** `snapshot save FILE`. */
export const snapshotSave: Command = {
  name: 'snapshot save',
  summary: "save a member's snapshot to a file (SHA-256 checked)",
  usage: `snapshot save FILE
  Writes FILE.part, checks the trailing SHA-256 the member sends, then renames it to FILE.
  The file is etcdctl-compatible in layout (size % 512 == 32).`,
  arity: [1, 1],
  async run(ctx) {
    const path = ctx.args[0] as string;
    const out = ctx.out;
    const progress = out.isTty && out.format === 'table';
    const saved = await ctx.client().maintenance.saveSnapshot(path, {
      signal: ctx.signal,
      ...(progress ? { onProgress: (n: number) => out.raw(`\rreceived ${humanBytes(n)}   `) } : {}),
    });
    if (progress) out.raw('\r\u001b[K');
    if (out.format === 'json') {
      out.json({
        path: saved.path,
        size: saved.sizeBytes,
        sha256: saved.sha256,
        revision: saved.revision,
        endpoint: saved.endpoint,
      });
    } else {
      out.line(`Snapshot saved at ${saved.path}`);
      out.line(
        `  ${humanBytes(saved.sizeBytes)} (${saved.sizeBytes} bytes), revision ${saved.revision}, from ${saved.endpoint}`,
      );
      out.line(`  sha256 ${saved.sha256} (checked)`);
    }
    return ExitCode.OK;
  },
};
