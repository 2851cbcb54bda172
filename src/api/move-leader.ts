/**
 * MoveLeader as etcd serves it: only the leader accepts ("etcdserver: not leader", status
 * FailedPrecondition), the target must be a voting member ("etcdserver: bad leader
 * transferee"); then raft transfers leadership (thesis 3.10) and the call waits, looking
 * once per tick, until this member sees the target lead, or answers etcd's leader transfer
 * timeout: at the deadline, or as soon as raft has abandoned the transfer.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { LeadershipPort } from './ports.js';

/** Moves leadership to target; resolves once this member sees target as leader. */
export async function moveLeader(port: LeadershipPort, target: number, timeoutMs: number): Promise<void> {
  if (port.leader() !== port.selfId)
    throw new CairnError(ErrorCode.NOT_LEADER_FOR_REQUEST, 'etcdserver: not leader');
  if (!port.isVoter(target))
    throw new CairnError(ErrorCode.BAD_LEADER_TRANSFEREE, 'etcdserver: bad leader transferee');
  port.transferLeadership(target);
  const until = performance.now() + timeoutMs;
  while (port.leader() !== target) {
    // Still leading with no transfer under way: raft gave it up (the target did not catch up
    // within an election timeout), and nothing will move leadership before the deadline.
    const abandoned = port.leader() === port.selfId && !port.transferring();
    if (abandoned || performance.now() >= until)
      throw new CairnError(
        ErrorCode.LEADER_TRANSFER_TIMEOUT,
        'etcdserver: request timed out, leader transfer took too long',
      );
    await new Promise((r) => setTimeout(r, port.pollIntervalMs));
  }
}
