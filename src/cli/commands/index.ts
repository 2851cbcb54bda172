/** Every cairnctl command, in the order help lists them. */
import type { Command } from '../command.js';
import { checkPerf } from './check-perf.js';
import {
  clusterAdd,
  clusterAlarms,
  clusterMembers,
  clusterMoveLeader,
  clusterPromote,
  clusterRemove,
  clusterStatus,
} from './cluster.js';
import { elect } from './elect.js';
import { del, get, put } from './kv.js';
import { leaseGrant, leaseKeepAlive, leaseList, leaseRevoke, leaseTtl } from './lease.js';
import { lock, lockDescribe, lockList } from './lock.js';
import { membersList, membersRegister, membersWatch } from './members.js';
import { snapshotSave } from './snapshot.js';
import { snapshotRestore } from './snapshot-restore.js';
import { txn } from './txn.js';
import { txnRecordsGet, txnRecordsList, txnRecordsWatch } from './txn-records.js';
import { watch } from './watch.js';

const help: Command = {
  name: 'help',
  summary: 'print usage (of a command: cairnctl help COMMAND)',
  usage: 'help [COMMAND]',
  arity: [0, 2],
  run: async () => 0,
};

/** The command table. */
export const COMMANDS: readonly Command[] = [
  put,
  get,
  del,
  watch,
  txn,
  leaseGrant,
  leaseKeepAlive,
  leaseTtl,
  leaseRevoke,
  leaseList,
  clusterStatus,
  clusterMembers,
  clusterAdd,
  clusterRemove,
  clusterPromote,
  clusterMoveLeader,
  clusterAlarms,
  snapshotSave,
  snapshotRestore,
  checkPerf,
  lockDescribe,
  lockList,
  lock,
  elect,
  membersList,
  membersWatch,
  membersRegister,
  txnRecordsList,
  txnRecordsGet,
  txnRecordsWatch,
  help,
];
