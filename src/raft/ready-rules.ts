/** Rules every driver of a Ready follows; kept here so the node runtime and the simulator cannot drift apart. */
import type { HardState, Ready } from './types.js';

/**
 * Whether a leader may send this Ready's messages before its own write is synced (thesis
 * 10.2.1: the leader's disk write runs in parallel with the followers'). Not when the
 * write changes its term or vote: a leader whose term is not durable could crash, win the
 * same term again and send other entries under it.
 */
export function leaderMaySendBeforePersist(rd: Ready, isLeader: boolean, persisted: HardState): boolean {
  if (!isLeader) return false;
  const hs = rd.hardState;
  return hs === undefined || (hs.term === persisted.term && hs.vote === persisted.vote);
}
