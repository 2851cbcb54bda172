/**
 * Which connection a raft message travels on. Heartbeats and votes decide who leads and for
 * how long (thesis 3.4, 3.6): they must never wait behind megabytes of log entries, so
 * appends have a connection of their own, and snapshots a call of their own on it.
 */
import { MessageType } from '../raft/types.js';

/** A path to a peer: control messages, appends, or snapshots. */
export type Lane = 'control' | 'append' | 'snapshot';

/** The lane a wire message type travels on: App on append, Snap on snapshot, every other on control. */
export function laneOf(type: MessageType): Lane {
  if (type === MessageType.App) return 'append';
  if (type === MessageType.Snap) return 'snapshot';
  return 'control';
}
