/**
 * Linearizable reads without writing to the log (thesis 6.4). In Safe mode each read
 * waits for a heartbeat round that a quorum acknowledges; reads queued while a round is
 * being prepared share it, and the acknowledgment of a later round also releases every
 * earlier read.
 */
import type { Message, NodeId } from './types.js';

/** A read request waiting for its heartbeat round. */
export interface PendingRead {
  /** The commit index when the read arrived: the read is safe once applied reaches it. */
  readonly index: number;
  readonly request: Message;
  readonly acks: Set<NodeId>;
}

/** Turns a context into a map key without any I/O helper (the core stays pure). */
export function contextKey(ctx: Uint8Array | undefined): string {
  if (!ctx || ctx.byteLength === 0) return '';
  let s = '';
  for (let i = 0; i < ctx.byteLength; i++) s += String.fromCharCode(ctx[i]!);
  return s;
}

/** The leader's queue of ReadIndex requests awaiting leadership confirmation. */
export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  /** Invariant: holds exactly the keys of `pending`, in arrival order. */
  private queue: string[] = [];
  /** Requests added since the last heartbeat round was broadcast: they will share the next one. */
  private unbroadcast = false;

  /** Number of reads waiting. */
  get size(): number {
    return this.queue.length;
  }

  /** Queues a read at the current commit index; a duplicate context is ignored. */
  addRequest(index: number, m: Message): void {
    const key = contextKey(m.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, request: m, acks: new Set() });
    this.queue.push(key);
    this.unbroadcast = true;
  }

  /** Whether some queued read has not yet had a heartbeat round sent for it. */
  needsBroadcast(): boolean {
    return this.unbroadcast;
  }

  /** The context to put on the next heartbeat round (the newest request), and marks the queue broadcast. */
  takeBroadcastContext(): Uint8Array | undefined {
    this.unbroadcast = false;
    const last = this.queue[this.queue.length - 1];
    if (last === undefined) return undefined;
    return this.pending.get(last)!.request.context;
  }

  /** Records a member's acknowledgment of a round; returns the acks so far, or undefined for an unknown round. */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(contextKey(ctx));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Releases the read with this context and every read queued before it. */
  advance(ctx: Uint8Array | undefined): PendingRead[] {
    const key = contextKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: PendingRead[] = [];
    for (const k of released) {
      out.push(this.pending.get(k)!);
      this.pending.delete(k);
    }
    return out;
  }
}
