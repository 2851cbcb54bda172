/**
 * Seeds one member's data folder of a NEW cluster from a saved snapshot file, as
 * `etcdutl snapshot restore` does; `cairnctl snapshot restore` runs it once per member.
 *
 * The folder is written the way a member has it right after installing that snapshot under
 * the new configuration: the raft snapshot (metadata: the snapshot's own index, term 1, the
 * new members as voters), the hard state (term 1, no vote, commit at that index), the state
 * machine's data and applied index. Everything goes through the code a running member uses:
 * the state machine restores the snapshot, takes its new membership, produces its writes, and
 * LevelStorage persists them with the raft snapshot in one synced batch.
 *
 * What is kept: every key with its create/mod revision and version, the current and compacted
 * revisions, the leases (their TTLs restart when the new cluster elects its leader), and so
 * Cairn's own records under /cairn/ (locks, registrations, transaction records: plain keys).
 * What is new: the member registry (ids and cluster id derived from --initial-cluster and the
 * token, exactly as a bootstrapping member derives them; no removed ids). What is dropped: the
 * old members' published names and client URLs, and the alarms, which name old member ids. etcd
 * keeps its alarm bucket on restore; here a NOSPACE alarm comes back by itself if a new member's
 * data still exceeds its quota (the quota is measured at start), and a CORRUPT alarm is about
 * the old members' copies, not about this file, whose SHA-256 was checked.
 */
import { readdir, readFile } from 'node:fs/promises';
import { CairnError, ErrorCode } from '../common/errors.js';
import { clusterIdOf, memberIdOf } from '../common/ids.js';
import type { Logger } from '../common/logger.js';
import { MvccStore } from '../mvcc/index.js';
import { LevelStorage } from '../storage/level-storage.js';
import { readSnapshotFile } from '../storage/snapshot-file.js';
import { KvStateMachine } from './kv-state-machine.js';
import { MemberRegistry } from './member-registry.js';
import {
  MembershipStateMachine,
  membershipWritesToOps,
  recoverMembershipStateMachine,
} from './membership-state-machine.js';

/** The raft term a restored cluster starts in (etcd's restore uses 1 as well). */
const RESTORED_TERM = 1;

/** What one member's restore needs: etcd's flag names, as etcdutl takes them. */
export interface RestoreMemberOptions {
  /** The file `snapshot save` wrote. */
  readonly snapshotPath: string;
  /** --name: this member's name in --initial-cluster. */
  readonly name: string;
  /** --initial-cluster: every member of the new cluster. */
  readonly initialCluster: readonly { readonly name: string; readonly peerUrls: readonly string[] }[];
  /** --initial-cluster-token: the new cluster's token (member and cluster ids derive from it). */
  readonly initialClusterToken: string;
  /** --initial-advertise-peer-urls: must be this member's URLs in --initial-cluster. */
  readonly initialAdvertisePeerUrls: readonly string[];
  /** --data-dir: created; refused if it exists and is not empty. */
  readonly dataDir: string;
  readonly logger: Logger;
}

/** What was restored, for the operator. */
export interface RestoredMember {
  readonly memberId: number;
  readonly clusterId: number;
  /** The raft index of the restored snapshot (the one the state was taken at). */
  readonly index: number;
  readonly revision: number;
  readonly compactRevision: number;
  readonly keys: number;
  readonly leases: number;
  /** Alarms the snapshot held, dropped (see the file comment). */
  readonly alarmsDropped: number;
  /** Members the snapshot's registry held, replaced by the new ones. */
  readonly oldMembers: number;
}

function invalid(message: string): CairnError {
  return new CairnError(ErrorCode.INVALID_ARGUMENT, message);
}

/** Whether a folder is missing or empty. */
export async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** Checks the flags as a bootstrapping member would: its name is listed, its advertised URLs are its own. */
function checkMembership(opts: RestoreMemberOptions): void {
  const self = opts.initialCluster.find((m) => m.name === opts.name);
  if (!self) throw invalid(`--initial-cluster does not contain this member's name "${opts.name}"`);
  const listed = [...self.peerUrls].sort().join(',');
  const advertised = [...opts.initialAdvertisePeerUrls].sort().join(',');
  if (listed !== advertised)
    throw invalid(
      `--initial-advertise-peer-urls (${advertised}) must be the URLs --initial-cluster gives "${opts.name}" (${listed})`,
    );
  const urls = opts.initialCluster.flatMap((m) => m.peerUrls);
  if (new Set(urls).size !== urls.length) throw invalid('--initial-cluster lists a peer URL twice');
}

/**
 * Checks the file (SHA-256, layout), then writes this member's data folder of the new cluster.
 * Throws CORRUPT for a damaged file and INVALID_ARGUMENT for bad flags or a non-empty data
 * folder, before anything is written.
 */
export async function restoreMember(opts: RestoreMemberOptions): Promise<RestoredMember> {
  checkMembership(opts);
  if (!(await isEmptyOrMissing(opts.dataDir)))
    throw invalid(`the data folder ${opts.dataDir} exists and is not empty: restore only seeds a new one`);
  const file = await readFile(opts.snapshotPath);
  let data: Uint8Array;
  try {
    data = readSnapshotFile(file);
  } catch (err) {
    throw new CairnError(
      ErrorCode.CORRUPT,
      `${opts.snapshotPath}: ${(err as Error).message}; the file is damaged, nothing was restored`,
    );
  }

  // The state machine as a member has it after installing the snapshot.
  const sm = new MembershipStateMachine(new KvStateMachine(new MvccStore(), 0), new MemberRegistry());
  let index: number;
  try {
    index = sm.restoreAsTaken(data);
  } catch (err) {
    throw new CairnError(
      ErrorCode.CORRUPT,
      `${opts.snapshotPath}: its SHA-256 holds but its content does not decode (${(err as Error).message})`,
    );
  }
  const alarmsDropped = sm.kv.alarms.list().length;
  const oldMembers = sm.registry.list().length;

  // The new membership, with the ids a bootstrapping member derives (api/identity.ts).
  const founders = opts.initialCluster.map((m) => ({
    id: memberIdOf(m.peerUrls, opts.initialClusterToken),
    name: m.name,
    peerUrls: [...m.peerUrls],
  }));
  const ids = founders.map((f) => f.id);
  const clusterId = clusterIdOf(ids, opts.initialClusterToken);
  sm.kv.forgetMembers();
  sm.registry.restore({
    clusterId,
    members: founders.map((f) => ({ ...f, isLearner: false })),
    removed: [],
  });

  const confState = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const { storage } = await LevelStorage.open(opts.dataDir, {
    logger: opts.logger.child({ component: 'storage' }),
    toOps: membershipWritesToOps,
  });
  try {
    await storage.persist({
      hardState: { term: RESTORED_TERM, vote: 0, commit: index },
      entries: [],
      snapshot: { metadata: { index, term: RESTORED_TERM, confState } },
      stateMachineWrites: sm.takeWrites(),
      appliedIndex: index,
      sync: true,
    });
  } finally {
    await storage.close();
  }
  await verifyRestored(opts, sm, index);

  const store = sm.kv.store;
  const self = founders.find((f) => f.name === opts.name)!;
  return {
    memberId: self.id,
    clusterId,
    index,
    revision: store.currentRevision,
    compactRevision: store.meta().compactedRevision,
    keys: store.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), countOnly: true }).count,
    leases: store.leases().length,
    alarmsDropped,
    oldMembers,
  };
}

/** Opens the folder as a starting member would and checks it holds what was restored (etcd verifies its restore too). */
async function verifyRestored(
  opts: RestoreMemberOptions,
  sm: MembershipStateMachine,
  index: number,
): Promise<void> {
  const { storage, recovered } = await LevelStorage.open(opts.dataDir, {
    logger: opts.logger.child({ component: 'storage' }),
    toOps: membershipWritesToOps,
  });
  try {
    const back = await recoverMembershipStateMachine(recovered);
    const snap = storage.raftStorage.snapshot().metadata;
    const problems: string[] = [];
    if (recovered.appliedIndex !== index || snap.index !== index) problems.push('applied or snapshot index');
    if (back.kv.store.hashKV().hash !== sm.kv.store.hashKV().hash) problems.push('key-value hash');
    if (back.registry.clusterId !== sm.registry.clusterId) problems.push('cluster id');
    if (back.registry.list().length !== sm.registry.list().length) problems.push('members');
    if (problems.length > 0)
      throw new CairnError(
        ErrorCode.CORRUPT,
        `the restored data folder ${opts.dataDir} does not read back as written (${problems.join(', ')})`,
      );
  } finally {
    await storage.close();
  }
}
