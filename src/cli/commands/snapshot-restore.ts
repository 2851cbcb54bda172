/**
 * `snapshot restore FILE`: seeds one member's data folder of a NEW cluster from a saved
 * snapshot, with etcd's flags (etcdutl/etcdctl 3.4 `snapshot restore`). It runs offline, on
 * files: the data-folder writing is the server's own code (node/snapshot-restore.ts), loaded
 * only when this command runs — the one place cairnctl uses server code (see
 * test/common/import-direction.test.ts).
 */
import { resolve } from 'node:path';
import { parseInitialCluster, SERVER_DEFAULTS } from '../../common/config.js';
import { CairnError, ErrorCode } from '../../common/errors.js';
import { silentLogger } from '../../common/logger.js';
import { str } from '../args.js';
import type { Command } from '../command.js';
import { CliError, ExitCode, UsageError } from '../exit-codes.js';

/** `snapshot restore FILE`. */
export const snapshotRestore: Command = {
  name: 'snapshot restore',
  summary: "seed one member's data folder of a new cluster from a snapshot file",
  usage: `snapshot restore FILE --name NAME --initial-cluster N1=URL,N2=URL,... [flags]
  Run once per member of the new cluster (same FILE, --initial-cluster and token; each its
  own --name and --data-dir), then start the members with those folders and the same
  --initial-cluster and --initial-cluster-token. Keys, values, revisions, leases and Cairn's
  records under /cairn/ are kept; the membership is the new one (ids derived from the URLs
  and the token, as at bootstrap); the old members' alarms are dropped.
  The file's SHA-256 is checked first: a damaged file exits 7 and writes nothing.
  --name NAME                           this member's name (default "default")
  --initial-cluster N=URL,...           the new cluster's members (default NAME=ADVERTISED)
  --initial-cluster-token TOKEN         the new cluster's token (default "${SERVER_DEFAULTS.initialClusterToken}")
  --initial-advertise-peer-urls URL,... this member's peer URLs (default: its --initial-cluster entry)
  --data-dir DIR                        the folder to create (default NAME.cairn); must be empty or absent`,
  options: {
    name: { type: 'string' },
    'initial-cluster': { type: 'string' },
    'initial-cluster-token': { type: 'string' },
    'initial-advertise-peer-urls': { type: 'string' },
    'data-dir': { type: 'string' },
  },
  arity: [1, 1],
  async run(ctx) {
    const file = resolve(ctx.args[0] as string);
    const name = str(ctx.flags, 'name') ?? SERVER_DEFAULTS.name;
    const advertisedFlag = str(ctx.flags, 'initial-advertise-peer-urls');
    const clusterFlag = str(ctx.flags, 'initial-cluster');
    let initialCluster: ReturnType<typeof parseInitialCluster>;
    let advertised: readonly string[];
    try {
      if (clusterFlag === undefined && advertisedFlag === undefined)
        throw new UsageError(
          'give --initial-cluster (and --name), or --initial-advertise-peer-urls',
          this.name,
        );
      initialCluster = parseInitialCluster(clusterFlag ?? `${name}=${advertisedFlag}`);
      advertised =
        advertisedFlag !== undefined
          ? parseInitialCluster(`${name}=${advertisedFlag}`)[0]!.peerUrls
          : [...(initialCluster.find((m) => m.name === name)?.peerUrls ?? [])];
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError((err as Error).message, this.name);
    }
    const dataDir = resolve(str(ctx.flags, 'data-dir') ?? `${name}.cairn`);
    const { restoreMember } = await import('../../node/snapshot-restore.js');
    let restored: Awaited<ReturnType<typeof restoreMember>>;
    try {
      restored = await restoreMember({
        snapshotPath: file,
        name,
        initialCluster,
        initialClusterToken: str(ctx.flags, 'initial-cluster-token') ?? SERVER_DEFAULTS.initialClusterToken,
        initialAdvertisePeerUrls: advertised,
        dataDir,
        logger: silentLogger(),
      });
    } catch (err) {
      throw restoreFailure(err, this.name);
    }
    const out = ctx.out;
    const hex = (n: number) => n.toString(16);
    if (out.format === 'json') {
      out.json({
        data_dir: dataDir,
        member_id: hex(restored.memberId),
        cluster_id: hex(restored.clusterId),
        raft_index: restored.index,
        revision: restored.revision,
        compact_revision: restored.compactRevision,
        keys: restored.keys,
        leases: restored.leases,
        alarms_dropped: restored.alarmsDropped,
      });
    } else {
      out.line(`Restored ${file} into ${dataDir}`);
      out.line(
        `  member ${hex(restored.memberId)} (${name}) of cluster ${hex(restored.clusterId)}, ${initialCluster.length} members`,
      );
      out.line(
        `  revision ${restored.revision} (compacted at ${restored.compactRevision}), ${restored.keys} keys, ${restored.leases} leases, raft index ${restored.index}`,
      );
      if (restored.alarmsDropped > 0)
        out.line(`  ${restored.alarmsDropped} alarm(s) of the old members dropped`);
    }
    return ExitCode.OK;
  },
};

/** The exit code and message of a failed restore: a damaged file is exit 7, bad flags or a used folder exit 2. */
function restoreFailure(err: unknown, command: string): Error {
  if (err instanceof CairnError && err.code === ErrorCode.CORRUPT)
    return new CliError(ExitCode.DAMAGED, err.message);
  if (err instanceof CairnError && err.code === ErrorCode.INVALID_ARGUMENT)
    return new UsageError(err.message, command);
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR')
    return new CliError(ExitCode.FAILED, `cannot read the snapshot file: ${e.message}`);
  return err as Error;
}
