/**
 * The commands the replicated state machine applies, one per raft entry, and what each
 * answers. Reads other than those inside a Txn are not commands: they are served from the
 * local store after a ReadIndex round.
 */
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteKeysResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantResponse,
  LeaseRevokeResponse,
  PutRequest,
  PutResponse,
  TxnRequest,
  TxnResponse,
} from './requests.js';

/** A state-machine command (a discriminated union on `type`). */
export type Command =
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  | { readonly type: 'compact'; readonly request: CompactionRequest }
  /**
   * Deletes the listed keys that exist, all in one revision (one DELETE event each): the
   * hook for lease revocation, which passes the keys attached to the lease at apply time.
   */
  | { readonly type: 'deleteKeys'; readonly keys: readonly Uint8Array[] }
  /** Creates a lease; the proposer chose the id and applied the minimum TTL. */
  | { readonly type: 'leaseGrant'; readonly id: number; readonly ttlSeconds: number }
  /** Removes a lease and deletes every key attached to it, all in one revision. */
  | { readonly type: 'leaseRevoke'; readonly id: number };

/** What each command type answers. */
export interface CommandResponses {
  readonly put: PutResponse;
  readonly deleteRange: DeleteRangeResponse;
  readonly txn: TxnResponse;
  readonly compact: CompactionResponse;
  readonly deleteKeys: DeleteKeysResponse;
  readonly leaseGrant: LeaseGrantResponse;
  readonly leaseRevoke: LeaseRevokeResponse;
}

/** The response type of a command type. */
export type ResponseOf<C extends Command> = CommandResponses[C['type']];

/** Any command's response. */
export type CommandResponse = CommandResponses[keyof CommandResponses];
