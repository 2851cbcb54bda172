/** What the etcd-compatible handlers need from the running member. */
import type { Command, RangeRequest, RangeResponse } from '../mvcc/index.js';
import type { KvResult } from '../node/kv-state-machine.js';
import type { WireHeader } from './header.js';

/** The key-value operations behind the KV service. */
export interface KvBackend {
  /** The header for a response at the current revision and term. */
  header(): WireHeader;
  /** A range, linearizable unless serializable. */
  range(req: RangeRequest, serializable: boolean): Promise<RangeResponse>;
  /** A write, through raft; resolves with the state machine's result once applied. */
  write(cmd: Command): Promise<KvResult>;
}
