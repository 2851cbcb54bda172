/**
 * What one member's gRPC services are wired from: the parts server.ts composes (node, state
 * machine, registry, leases, quota...) and the adapters every service reads through (status,
 * the KV backend, response headers, cluster membership).
 */
import type { ServerConfig } from '../common/config.js';
import { ErrorCode, isCairnError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { PeerCredentials } from '../common/tls.js';
import type { CoordinationLeadership } from '../coordination/ports.js';
import type { WatchHub } from '../mvcc/index.js';
import type { AlarmMember, AlarmRequest } from '../node/alarms.js';
import type { KvResult } from '../node/kv-state-machine.js';
import type { MemberLeases } from '../node/member-leases.js';
import type { MemberRecord, MemberRegistry } from '../node/member-registry.js';
import type { MembershipChanges } from '../node/membership-changes.js';
import type { MembershipStateMachine } from '../node/membership-state-machine.js';
import type { RaftNode } from '../node/raft-node.js';
import type { LevelStorage } from '../storage/level-storage.js';
import { commandEntry } from './auth-gate.js';
import type { ClusterInfo, MemberInfo } from './cluster-info.js';
import type { MembershipBackend } from './cluster-service.js';
import type { WireHeader } from './header.js';
import { promoteViaPeer } from './peer-cluster-client.js';
import type { KvBackend } from './ports.js';
import type { SpaceQuota } from './space-quota.js';
import type { StatusSource } from './status-source.js';

/** One member's parts and adapters, as the client and peer services are wired from them. */
export interface MemberContext {
  readonly config: ServerConfig;
  /** The server's own logger (component 'server'). */
  readonly log: Logger;
  /** The root logger services derive their child loggers from. */
  readonly rootLogger: Logger;
  readonly info: ClusterInfo;
  readonly selfId: number;
  /** The raft node, constructed (start() is the server's). */
  readonly node: RaftNode<KvResult>;
  readonly sm: MembershipStateMachine;
  readonly registry: MemberRegistry;
  readonly storage: LevelStorage;
  readonly hub: WatchHub;
  readonly memberLeases: MemberLeases;
  readonly changes: MembershipChanges;
  readonly quota: SpaceQuota;
  /** Credentials for dialling peers (promotions forwarded to the leader). */
  readonly peerTls: PeerCredentials;
  /** Proposes an alarm change through raft and returns the alarms after it. */
  readonly proposeAlarm: (req: AlarmRequest) => Promise<readonly AlarmMember[]>;
  /** Whether this member leads, and changes of it, for leader-only timers. */
  readonly coordinationLeadership: CoordinationLeadership;
  /** The member's status now. */
  readonly status: () => StatusSource;
  /** The KV backend (reads through the barrier, writes through raft). */
  readonly backend: KvBackend;
  /** The response header at a given revision. */
  readonly headerAt: (revision: number) => WireHeader;
  /** Cluster membership; forwardPromote sends a follower's promotion to the leader's peer URL. */
  readonly membership: (forwardPromote: boolean) => MembershipBackend;
  /** A registry record with the name and client URLs the member published through raft. */
  readonly withAttributes: (m: MemberRecord) => MemberInfo;
}

/** The parts server.ts composes; memberContext derives the adapters from them. */
export type MemberParts = Omit<
  MemberContext,
  'status' | 'backend' | 'headerAt' | 'membership' | 'withAttributes'
>;

/** Builds the context from the member's parts, adding status, KV backend, headers and membership. */
export function memberContext(parts: MemberParts): MemberContext {
  const { config, info, selfId, node: running, sm, registry, changes, quota, peerTls } = parts;
  const status = (): StatusSource => {
    const st = running.status();
    return {
      leader: running.leader,
      term: st.term,
      commitIndex: st.commit,
      appliedIndex: running.appliedIndex,
      revision: sm.kv.store.currentRevision,
      isLearner: registry.get(selfId)?.isLearner ?? false,
      dataSizeBytes: quota.dbSizeBytes,
    };
  };
  const backend: KvBackend = {
    // Every response carries one (a watch event sends one per watcher): only cheap reads here,
    // not status(), which walks the core's progress.
    header: () => ({
      cluster_id: info.clusterId,
      member_id: info.memberId,
      revision: sm.kv.store.currentRevision,
      raft_term: running.term,
    }),
    range: async (req, serializable) => {
      if (!serializable) await running.linearizableBarrier();
      return sm.kv.store.range(req);
    },
    write: (cmd) => {
      const entry = commandEntry(cmd);
      return running.propose(entry.kind, entry.payload);
    },
  };
  const headerAt = (revision: number) => ({ ...backend.header(), revision });
  // Members as the registry holds them, with the name and client URLs each published through raft.
  const withAttributes = (m: MemberRecord): MemberInfo => {
    const published = sm.kv.members.get(m.id);
    return {
      id: m.id,
      name: published?.name ?? m.name,
      peerUrls: m.peerUrls,
      clientUrls: published?.clientUrls ?? (m.id === selfId ? config.advertiseClientUrls : []),
      isLearner: m.isLearner,
    };
  };
  const membership = (forwardPromote: boolean): MembershipBackend => ({
    list: async (linearizable) => (await changes.list(linearizable)).map(withAttributes),
    add: async (peerUrls, isLearner) => withAttributes(await changes.add(peerUrls, isLearner)),
    remove: (id) => changes.remove(id),
    update: (id, peerUrls) => changes.update(id, peerUrls),
    promote: async (id) => {
      try {
        await changes.promote(id);
      } catch (err) {
        const leaderUrl = registry.get(running.leader)?.peerUrls[0];
        if (!forwardPromote || !isCairnError(err, ErrorCode.NOT_LEADER) || leaderUrl === undefined) throw err;
        await promoteViaPeer(leaderUrl, id, config.requestTimeoutMs, peerTls);
      }
    },
  });
  return { ...parts, status, backend, headerAt, membership, withAttributes };
}
