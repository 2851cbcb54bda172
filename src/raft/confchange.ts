/**
 * Computes the configuration that results from a change: simple (at most one voter added
 * or removed), entering a joint configuration, or leaving one (thesis 4.3). Pure: works on
 * copies and returns a new configuration and progress map, so a leader can dry-run a
 * proposal to validate it before it is appended.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { Progress } from './progress.js';
import { JointConfig, MajorityConfig } from './quorum.js';
import type { TrackerConfig } from './tracker.js';
import {
  type ConfChange,
  type ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
  type ConfState,
  type NodeId,
} from './types.js';

/** A configuration and the progress map that goes with it. */
export interface ConfigAndProgress {
  readonly config: TrackerConfig;
  readonly progress: Map<NodeId, Progress>;
}

/** What a change needs from the log and limits to create progress for new members. */
export interface ChangerContext {
  readonly lastIndex: number;
  readonly inflightMessagesMax: number;
}

function reject(msg: string): CairnError {
  return new CairnError(ErrorCode.CONF_CHANGE_REJECTED, msg);
}

/** Whether a change leaves the joint configuration (an empty change). */
export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0 && cc.transition === ConfChangeTransition.Auto;
}

/** Whether a change must go through a joint configuration; autoLeave says whether the leader leaves it by itself. */
export function enterJointMode(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== ConfChangeTransition.Auto || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== ConfChangeTransition.JointExplicit };
  }
  return { joint: false, autoLeave: false };
}

/** Mutable working copy of a configuration while a change is applied. */
interface Working {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
  progress: Map<NodeId, Progress>;
}

function copy(cur: ConfigAndProgress): Working {
  const progress = new Map<NodeId, Progress>();
  for (const [id, pr] of cur.progress) {
    const c = new Progress({
      match: pr.match,
      next: pr.next,
      inflightMessagesMax: pr.inflights.capacityMessages,
      isLearner: pr.isLearner,
      recentActive: pr.recentActive,
    });
    c.state = pr.state;
    c.pendingSnapshot = pr.pendingSnapshot;
    c.probeSent = pr.probeSent;
    progress.set(id, c);
  }
  return {
    incoming: new Set(cur.config.voters.incoming.ids),
    outgoing: new Set(cur.config.voters.outgoing.ids),
    learners: new Set(cur.config.learners),
    learnersNext: new Set(cur.config.learnersNext),
    autoLeave: cur.config.autoLeave,
    progress,
  };
}

function finish(w: Working, originals: ReadonlyMap<NodeId, Progress>): ConfigAndProgress {
  // Keep the original Progress objects (with their inflight windows) for members that stay
  // unchanged, so that a configuration change does not disturb replication in flight.
  const progress = new Map<NodeId, Progress>();
  for (const [id, pr] of w.progress) {
    const orig = originals.get(id);
    if (orig && orig.isLearner === pr.isLearner) progress.set(id, orig);
    else progress.set(id, pr);
  }
  const out: ConfigAndProgress = {
    config: {
      voters: new JointConfig(new MajorityConfig(w.incoming), new MajorityConfig(w.outgoing)),
      learners: w.learners,
      learnersNext: w.learnersNext,
      autoLeave: w.autoLeave,
    },
    progress,
  };
  checkInvariants(out);
  return out;
}

/** Throws if a configuration breaks the structural invariants (a bug, not an operating error). */
export function checkInvariants(cp: ConfigAndProgress): void {
  const { config, progress } = cp;
  const members = new Set<NodeId>([
    ...config.voters.incoming.ids,
    ...config.voters.outgoing.ids,
    ...config.learners,
    ...config.learnersNext,
  ]);
  for (const id of members) {
    if (!progress.has(id)) throw reject(`no progress for member ${id}`);
  }
  for (const id of progress.keys()) {
    if (!members.has(id)) throw reject(`progress for non-member ${id}`);
  }
  for (const id of config.learnersNext) {
    if (!config.voters.outgoing.ids.has(id))
      throw reject(`${id} is in learnersNext but not an outgoing voter`);
    if (progress.get(id)!.isLearner) throw reject(`${id} is in learnersNext but already marked learner`);
  }
  for (const id of config.learners) {
    if (config.voters.outgoing.ids.has(id) || config.voters.incoming.ids.has(id))
      throw reject(`${id} is both learner and voter`);
    if (!progress.get(id)!.isLearner) throw reject(`${id} is a learner but not marked so`);
  }
  if (!config.voters.isJoint()) {
    if (config.learnersNext.size > 0)
      throw reject('learnersNext must be empty outside a joint configuration');
    if (config.autoLeave) throw reject('autoLeave must be false outside a joint configuration');
  }
}

function initProgress(w: Working, ctx: ChangerContext, id: NodeId, isLearner: boolean): void {
  if (isLearner) w.learners.add(id);
  else w.incoming.add(id);
  // A new member is treated as recently active so that check-quorum does not make the
  // leader step down before it had a chance to hear from it.
  w.progress.set(
    id,
    new Progress({
      match: 0,
      next: Math.max(ctx.lastIndex, 1),
      inflightMessagesMax: ctx.inflightMessagesMax,
      isLearner,
      recentActive: true,
    }),
  );
}

function makeVoter(w: Working, ctx: ChangerContext, id: NodeId): void {
  const pr = w.progress.get(id);
  if (!pr) {
    initProgress(w, ctx, id, false);
    return;
  }
  pr.isLearner = false;
  w.learners.delete(id);
  w.learnersNext.delete(id);
  w.incoming.add(id);
}

function makeLearner(w: Working, ctx: ChangerContext, id: NodeId): void {
  const pr = w.progress.get(id);
  if (!pr) {
    initProgress(w, ctx, id, true);
    return;
  }
  if (pr.isLearner) return;
  w.incoming.delete(id);
  // An outgoing voter keeps voting in the old half until the joint config is left.
  if (w.outgoing.has(id)) {
    w.learnersNext.add(id);
  } else {
    pr.isLearner = true;
    w.learners.add(id);
  }
}

function remove(w: Working, id: NodeId): void {
  if (!w.progress.has(id)) return;
  w.incoming.delete(id);
  w.learners.delete(id);
  w.learnersNext.delete(id);
  if (!w.outgoing.has(id)) w.progress.delete(id);
}

function applyChanges(w: Working, ctx: ChangerContext, changes: readonly ConfChangeSingle[]): void {
  for (const c of changes) {
    if (!Number.isSafeInteger(c.nodeId) || c.nodeId <= 0) throw reject(`invalid node id ${c.nodeId}`);
    switch (c.type) {
      case ConfChangeType.AddNode:
        makeVoter(w, ctx, c.nodeId);
        break;
      case ConfChangeType.AddLearnerNode:
        makeLearner(w, ctx, c.nodeId);
        break;
      case ConfChangeType.RemoveNode:
        remove(w, c.nodeId);
        break;
      default:
        throw reject(`unknown change type ${String(c.type)}`);
    }
  }
  if (w.incoming.size === 0) throw reject('removed all voters');
}

/** A change of at most one voter, outside a joint configuration. */
export function simpleChange(
  cur: ConfigAndProgress,
  ctx: ChangerContext,
  changes: readonly ConfChangeSingle[],
): ConfigAndProgress {
  if (cur.config.voters.isJoint())
    throw reject('cannot apply a simple change while in a joint configuration');
  const w = copy(cur);
  applyChanges(w, ctx, changes);
  const before = cur.config.voters.incoming.ids;
  let changed = 0;
  for (const id of w.incoming) if (!before.has(id)) changed++;
  for (const id of before) if (!w.incoming.has(id)) changed++;
  if (changed > 1) throw reject('more than one voter changed without entering a joint configuration');
  return finish(w, cur.progress);
}

/** Enters the joint configuration (old voters, old voters with changes applied). */
export function enterJoint(
  cur: ConfigAndProgress,
  ctx: ChangerContext,
  autoLeave: boolean,
  changes: readonly ConfChangeSingle[],
): ConfigAndProgress {
  if (cur.config.voters.isJoint()) throw reject('configuration is already joint');
  if (cur.config.voters.incoming.ids.size === 0) throw reject('cannot make a zero-voter configuration joint');
  const w = copy(cur);
  w.outgoing = new Set(w.incoming);
  applyChanges(w, ctx, changes);
  w.autoLeave = autoLeave;
  return finish(w, cur.progress);
}

/** Leaves the joint configuration: the incoming half alone decides from now on. */
export function leaveJoint(cur: ConfigAndProgress): ConfigAndProgress {
  if (!cur.config.voters.isJoint()) throw reject('cannot leave a non-joint configuration');
  const w = copy(cur);
  for (const id of w.learnersNext) {
    w.learners.add(id);
    w.progress.get(id)!.isLearner = true;
  }
  w.learnersNext.clear();
  for (const id of w.outgoing) {
    if (!w.incoming.has(id) && !w.learners.has(id)) w.progress.delete(id);
  }
  w.outgoing.clear();
  w.autoLeave = false;
  return finish(w, cur.progress);
}

/** Applies any ConfChange to a configuration: the one entry point the core and the dry-run use. */
export function applyConfChangeTo(
  cur: ConfigAndProgress,
  ctx: ChangerContext,
  cc: ConfChange,
): ConfigAndProgress {
  if (isLeaveJoint(cc)) return leaveJoint(cur);
  const mode = enterJointMode(cc);
  if (mode.joint) return enterJoint(cur, ctx, mode.autoLeave, cc.changes);
  return simpleChange(cur, ctx, cc.changes);
}

/** Rebuilds a configuration from a ConfState (start-up, snapshot): outgoing half first, then the joint step. */
export function restoreConfState(cs: ConfState, ctx: ChangerContext): ConfigAndProgress {
  const empty: ConfigAndProgress = {
    config: {
      voters: new JointConfig(new MajorityConfig()),
      learners: new Set(),
      learnersNext: new Set(),
      autoLeave: false,
    },
    progress: new Map(),
  };
  const w = copy(empty);
  if (cs.votersOutgoing.length === 0) {
    for (const id of cs.voters) makeVoter(w, ctx, id);
    for (const id of cs.learners) makeLearner(w, ctx, id);
    return finish(w, new Map());
  }
  for (const id of cs.votersOutgoing) makeVoter(w, ctx, id);
  w.outgoing = new Set(w.incoming);
  w.incoming = new Set();
  for (const id of cs.voters) makeVoter(w, ctx, id);
  for (const id of cs.learners) makeLearner(w, ctx, id);
  for (const id of cs.learnersNext) makeLearner(w, ctx, id);
  w.autoLeave = cs.autoLeave;
  return finish(w, new Map());
}
