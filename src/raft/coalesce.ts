/**
 * Coalescing of one Ready's outgoing messages. A leader sends an append to every follower for
 * every proposal it takes, so a busy Ready carried one App of one entry per proposal and
 * follower, and each follower answered each with an AppResp; every one of those is a frame on
 * the wire, a decode and a step at the other end. Here, per recipient:
 * - an App that continues the previous App (same term, starts where it ends) is folded into it
 *   (entries appended, the later commit index), within the message size limit;
 * - a successful AppResp is folded into the previous successful AppResp of the same term (the
 *   higher index acknowledges everything the lower one did);
 * - a forwarded Prop is folded into the previous Prop (entries appended), within the limit.
 * Any other message to the recipient, except a heartbeat or its answer, ends the run, so no
 * message moves past one it could depend on. Messages to different recipients never interact.
 */
import { entriesSizeBytes } from './storage.js';
import { type Message, MessageType, type NodeId } from './types.js';

/** The messages with runs folded as described above; the input is not modified. */
export function coalesceMessages(msgs: readonly Message[], messageBytesMax: number): Message[] {
  if (msgs.length < 2) return msgs as Message[];
  const out: Message[] = [];
  /** Per recipient: the output position of the message a later one may be folded into. */
  const open = new Map<NodeId, number>();
  for (const m of msgs) {
    const at = open.get(m.to);
    const prev = at === undefined ? undefined : out[at];
    if (prev !== undefined && at !== undefined) {
      const folded = fold(prev, m, messageBytesMax);
      if (folded !== undefined) {
        out[at] = folded;
        continue;
      }
    }
    if (foldable(m)) open.set(m.to, out.length);
    else if (m.type !== MessageType.Heartbeat && m.type !== MessageType.HeartbeatResp) open.delete(m.to);
    out.push(m);
  }
  return out;
}

/** Whether a later message may be folded into this one. */
function foldable(m: Message): boolean {
  if (m.type === MessageType.App || m.type === MessageType.Prop) return true;
  return m.type === MessageType.AppResp && !m.reject;
}

/** prev and next as one message, or undefined if they cannot be folded. */
function fold(prev: Message, next: Message, messageBytesMax: number): Message | undefined {
  if (prev.type !== next.type || prev.term !== next.term) return undefined;
  switch (next.type) {
    case MessageType.App: {
      if (next.index !== prev.index + prev.entries.length || next.logTerm !== lastTerm(prev))
        return undefined;
      if (entriesSizeBytes(prev.entries) + entriesSizeBytes(next.entries) > messageBytesMax) return undefined;
      return {
        ...prev,
        entries: [...prev.entries, ...next.entries],
        commit: Math.max(prev.commit, next.commit),
      };
    }
    case MessageType.Prop: {
      if (prev.from !== next.from) return undefined;
      if (entriesSizeBytes(prev.entries) + entriesSizeBytes(next.entries) > messageBytesMax) return undefined;
      return { ...prev, entries: [...prev.entries, ...next.entries] };
    }
    case MessageType.AppResp:
      if (next.reject || prev.reject) return undefined;
      return next.index >= prev.index ? next : prev;
    default:
      return undefined;
  }
}

/** The term of the last entry an App carries, or of the entry before them when it carries none. */
function lastTerm(m: Message): number {
  const last = m.entries[m.entries.length - 1];
  return last === undefined ? m.logTerm : last.term;
}
