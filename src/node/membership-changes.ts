/**
 * Membership changes at run time, as etcd's Cluster service makes them: each request is
 * checked against the registry after a linearizable barrier (so it sees every change
 * committed before it), then proposed through raft (a configuration change, or a
 * MemberUpdate entry), and answered once the change is applied here.
 */
import { CairnError, ErrorCode, isCairnError } from '../common/errors.js';
import { addedMemberIdOf } from '../common/ids.js';
import { ConfChangeType, Role } from '../raft/index.js';
import { EntryKind } from './envelope.js';
import type { KvResult } from './kv-state-machine.js';
import { encodeMemberChangeContext, encodeMemberUpdate } from './member-codec.js';
import { LEARNERS_MAX_DEFAULT, type MemberRecord, type MemberRegistry } from './member-registry.js';
import type { RaftNode } from './raft-node.js';

/** etcd's readyPercent: a learner whose match index is at least this share of the leader's may be promoted. */
export const LEARNER_READY_FRACTION = 0.9;

/** Pause between attempts while another configuration change is still being applied. */
const CONF_CHANGE_RETRY_MS = 50;

/** How membership changes are made. */
export interface MembershipChangesOptions {
  readonly clusterToken: string;
  readonly learnersMax?: number;
  /** Milliseconds since the epoch; the time component of new member ids. */
  readonly nowMs?: () => number;
  /** How long to keep retrying while raft refuses a change because another one is pending. */
  readonly retryForMs: number;
}

/** The five membership operations over a node and its registry. */
export class MembershipChanges {
  constructor(
    private readonly node: RaftNode<KvResult>,
    private readonly registry: MemberRegistry,
    private readonly opts: MembershipChangesOptions,
  ) {}

  /** Adds a member (a learner if asked) and returns its record. */
  async add(peerUrls: readonly string[], isLearner: boolean): Promise<MemberRecord> {
    await this.node.linearizableBarrier();
    this.registry.checkAdd(peerUrls, isLearner, this.opts.learnersMax ?? LEARNERS_MAX_DEFAULT);
    const id = addedMemberIdOf(peerUrls, this.opts.clusterToken, (this.opts.nowMs ?? Date.now)());
    this.registry.checkNewId(id);
    const type = isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode;
    await this.proposeChange(type, id, peerUrls);
    return this.registry.get(id) ?? { id, name: '', peerUrls, isLearner };
  }

  /** Removes a member for good. */
  async remove(id: number): Promise<void> {
    await this.node.linearizableBarrier();
    this.registry.checkRemove(id);
    await this.proposeChange(ConfChangeType.RemoveNode, id, undefined);
  }

  /**
   * Promotes a learner to voter. Only the leader knows how far the learner's log is, so a
   * follower answers NOT_LEADER with the leader as hint (the API forwards the request there).
   */
  async promote(id: number): Promise<void> {
    await this.node.linearizableBarrier();
    const m = this.registry.checkPromote(id);
    this.checkLearnerReady(id);
    await this.proposeChange(ConfChangeType.AddNode, id, m.peerUrls);
  }

  /** Changes a member's peer URLs. */
  async update(id: number, peerUrls: readonly string[]): Promise<void> {
    await this.node.linearizableBarrier();
    this.registry.checkUpdate(id, peerUrls);
    const r = await this.node.propose(EntryKind.MemberUpdate, encodeMemberUpdate({ id, peerUrls }));
    if (!r.ok) throw r.error;
  }

  /** The members, after a linearizable barrier if asked. */
  async list(linearizable: boolean): Promise<MemberRecord[]> {
    if (linearizable) await this.node.linearizableBarrier();
    return this.registry.list();
  }

  private checkLearnerReady(id: number): void {
    const st = this.node.status();
    if (st.role !== Role.Leader || st.progress === undefined) {
      throw new CairnError(
        ErrorCode.NOT_LEADER,
        'only the leader knows whether a learner is in sync',
        st.leader,
      );
    }
    const learner = st.progress.get(id);
    if (!learner) throw new CairnError(ErrorCode.MEMBER_NOT_FOUND, `member ${id.toString(16)} not found`);
    const leaderMatch = st.progress.get(st.id)?.match ?? 0;
    if (learner.match < leaderMatch * LEARNER_READY_FRACTION) {
      throw new CairnError(
        ErrorCode.LEARNER_NOT_READY,
        `learner ${id.toString(16)} has ${learner.match} of the leader's ${leaderMatch} entries`,
      );
    }
  }

  /** Proposes one change, retrying while raft refuses it because an earlier change is not applied yet. */
  private async proposeChange(
    type: ConfChangeType,
    id: number,
    peerUrls: readonly string[] | undefined,
  ): Promise<void> {
    const payload = encodeMemberChangeContext({ members: peerUrls ? [{ id, peerUrls: [...peerUrls] }] : [] });
    const until = performance.now() + this.opts.retryForMs;
    for (;;) {
      try {
        const r = await this.node.proposeMemberChange([{ type, nodeId: id }], payload);
        if (!r.ok) throw r.error;
        return;
      } catch (err) {
        if (!isCairnError(err, ErrorCode.CONF_CHANGE_REJECTED) || performance.now() >= until) throw err;
        await new Promise((r) => setTimeout(r, CONF_CHANGE_RETRY_MS));
      }
    }
  }
}
