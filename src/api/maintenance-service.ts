/**
 * The etcd Maintenance service's Status, as etcdctl `endpoint status` reads it: version,
 * data size, leader, raft index and term, applied index, learner flag.
 */
import type { ClusterInfo } from './cluster-info.js';
import { responseHeader } from './header.js';
import type { StatusSource } from './status-source.js';

/** The etcd API version Cairn reports (the wire level it implements). */
export const ETCD_API_VERSION = '3.4.0';

type Callback = (err: Error | null, value?: unknown) => void;

/** Handlers for etcdserverpb.Maintenance (Status for now). */
export function maintenanceHandlers(
  info: ClusterInfo,
  status: () => StatusSource,
): Record<string, (call: unknown, cb: Callback) => void> {
  return {
    Status(_call: unknown, cb: Callback): void {
      const s = status();
      cb(null, {
        header: responseHeader(info, s),
        version: ETCD_API_VERSION,
        dbSize: s.dataSizeBytes,
        leader: s.leader,
        raftIndex: s.commitIndex,
        raftTerm: s.term,
        raftAppliedIndex: s.appliedIndex,
        errors: [],
        dbSizeInUse: s.dataSizeBytes,
        isLearner: s.isLearner,
      });
    },
  };
}
