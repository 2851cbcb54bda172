/** The etcd Cluster service's MemberList, as etcdctl `member list` reads it. */
import type { ClusterInfo, MemberInfo } from './cluster-info.js';
import { responseHeader } from './header.js';
import type { StatusSource } from './status-source.js';

type Callback = (err: Error | null, value?: unknown) => void;

/** Handlers for etcdserverpb.Cluster (MemberList for now). */
export function clusterHandlers(
  info: ClusterInfo,
  status: () => StatusSource,
  membersNow: () => readonly MemberInfo[] = () => info.members,
): Record<string, (call: unknown, cb: Callback) => void> {
  return {
    MemberList(_call: unknown, cb: Callback): void {
      cb(null, {
        header: responseHeader(info, status()),
        members: membersNow().map((m) => ({
          ID: m.id,
          name: m.name,
          peerURLs: [...m.peerUrls],
          clientURLs: [...m.clientUrls],
          isLearner: m.isLearner,
        })),
      });
    },
  };
}
