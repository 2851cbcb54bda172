/**
 * Who is calling and what they may do, for every client-port service: the caller is the user
 * named by the `token` metadata (a simple token this member learnt through raft) or, with
 * --client-cert-auth and no token, by the client certificate's common name. Checks read the
 * member's applied auth state at the moment of the check: with auth disabled everything is
 * allowed, as today. Also the async context that carries the caller into the coordination
 * recipes, and the listeners that open streams use to re-check when the auth state changes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as grpc from '@grpc/grpc-js';
import type { AuthStore } from '../auth/auth-store.js';
import type { AuthCommand } from '../auth/commands.js';
import { TokenTable } from '../auth/token-table.js';
import type { Access } from '../auth/types.js';
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  type Command,
  type DeleteRangeRequest,
  encodeCommand,
  type PutRequest,
  type RangeRequest,
  type TxnRequest,
} from '../mvcc/index.js';
import {
  deleteAccess,
  encodeCommandAs,
  type KeysOfLease,
  type NeededAccess,
  putAccess,
  rangeAccess,
  txnAccess,
} from '../node/command-access.js';
import { EntryKind } from '../node/envelope.js';

/** The caller of one request or stream: a user name, or nobody (no token, no certificate). */
export interface Caller {
  readonly user: string | undefined;
}

/** The caller of the request being served, carried through its async work (undefined: the server's own work). */
export const callerContext = new AsyncLocalStorage<Caller>();

/** What a call exposes for identification. */
export interface IdentifiableCall {
  readonly metadata: grpc.Metadata;
  getAuthContext?(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } | null;
}

/** The gate's settings. */
export interface AuthGateOptions {
  /** --client-cert-auth: a verified client certificate's common name is the user when no token is sent. */
  readonly clientCertAuth: boolean;
  /** Simple token TTL (etcd: 5 minutes). */
  readonly tokenTtlMs?: number;
}

function denied(): CairnError {
  return new CairnError(ErrorCode.PERMISSION_DENIED, 'permission denied');
}

/** Caller resolution and permission checks over the member's replicated auth store. */
export class AuthGate {
  /** The simple tokens this member accepts (filled by applied Authenticate entries). */
  readonly tokens: TokenTable;
  private readonly changeListeners = new Set<() => void>();

  constructor(
    private readonly store: () => AuthStore,
    private readonly opts: AuthGateOptions,
  ) {
    this.tokens = new TokenTable(opts.tokenTtlMs);
  }

  /** Whether auth is enabled now. */
  get enabled(): boolean {
    return this.store().enabled;
  }

  /** The replicated auth store. */
  get auth(): AuthStore {
    return this.store();
  }

  /** Hears an applied auth command (wired to the state machine's auth listener). */
  applied(command: AuthCommand, ok: boolean): void {
    if (ok) {
      if (command.type === 'authenticate') {
        this.tokens.add(command.token, command.user, command.issuedAtMs);
        return; // issuing a token changes no permission
      }
      if (command.type === 'authDisable') this.tokens.clear();
      if (command.type === 'userDelete' || command.type === 'userChangePassword')
        this.tokens.revokeUser(command.name);
    }
    if (ok) this.changed();
  }

  /** Hears that a snapshot replaced the auth state. */
  restored(): void {
    this.tokens.clear();
    this.changed();
  }

  private changed(): void {
    for (const l of [...this.changeListeners]) l();
  }

  /** Calls `listener` after every change of the auth state (users, roles, permissions, enabled); returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * The caller of a call. With auth enabled, a token that this member does not know (or no
   * longer knows) is INVALID_AUTH_TOKEN; with auth disabled, tokens are ignored, as etcd.
   */
  callerOf(call: IdentifiableCall): Caller {
    if (!this.enabled) return { user: undefined };
    const token = call.metadata.get('token')[0];
    if (typeof token === 'string' && token !== '') {
      const user = this.tokens.use(token);
      if (user === undefined || this.store().user(user) === undefined)
        throw new CairnError(ErrorCode.INVALID_AUTH_TOKEN, 'invalid auth token');
      return { user };
    }
    if (this.opts.clientCertAuth) {
      const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
      const name = Array.isArray(cn) ? cn[0] : cn;
      if (typeof name === 'string' && name !== '') return { user: name };
    }
    return { user: undefined };
  }

  /** The caller's user name; USER_EMPTY when auth is on and there is none (undefined when auth is off). */
  requireUser(caller: Caller): string | undefined {
    if (!this.enabled) return undefined;
    if (caller.user === undefined) throw new CairnError(ErrorCode.USER_EMPTY, 'user name is empty');
    return caller.user;
  }

  /** Throws unless the caller has the root role (or auth is off). */
  requireAdmin(caller: Caller): void {
    const user = this.requireUser(caller);
    if (user !== undefined && !this.store().isAdmin(user)) throw denied();
  }

  /** Whether the caller may do `access` on [key, rangeEnd) now. */
  permitted(caller: Caller, access: Access, key: Uint8Array, rangeEnd?: Uint8Array): boolean {
    if (!this.enabled) return true;
    return caller.user !== undefined && this.store().permitted(caller.user, access, key, rangeEnd);
  }

  /** Throws USER_EMPTY or PERMISSION_DENIED unless the caller may do `access` on [key, rangeEnd). */
  check(caller: Caller, access: Access, key: Uint8Array, rangeEnd?: Uint8Array): void {
    this.requireUser(caller);
    if (!this.permitted(caller, access, key, rangeEnd)) throw denied();
  }

  /** Throws USER_EMPTY or PERMISSION_DENIED unless the caller holds every access in `needed`. */
  checkAll(caller: Caller, needed: readonly NeededAccess[]): void {
    this.requireUser(caller);
    for (const n of needed) this.check(caller, n.access, n.key, n.rangeEnd);
  }

  /** A range needs read on its keys (nothing is checked, or computed, while auth is off; so for the three below). */
  checkRange(caller: Caller, r: RangeRequest): void {
    if (this.enabled) this.checkAll(caller, rangeAccess(r));
  }

  /** A put needs write on its key (and read, to return the previous value); a lease needs write on every key it holds. */
  checkPut(caller: Caller, r: PutRequest, keysOfLease: KeysOfLease): void {
    if (this.enabled) this.checkAll(caller, putAccess(r, keysOfLease));
  }

  /** A delete needs write on its range (and read, to return the deleted values). */
  checkDelete(caller: Caller, r: DeleteRangeRequest): void {
    if (this.enabled) this.checkAll(caller, deleteAccess(r));
  }

  /** A Txn needs read on every compare and what each operation of both branches needs, nested Txns included. */
  checkTxn(caller: Caller, t: TxnRequest, keysOfLease: KeysOfLease): void {
    if (this.enabled) this.checkAll(caller, txnAccess(t, keysOfLease));
  }
}

/**
 * The raft entry for an mvcc command: made on behalf of the current caller's user when there
 * is one (EntryKind.MvccAs, so the state machine checks the permissions again at apply).
 */
export function commandEntry(cmd: Command): { kind: EntryKind; payload: Uint8Array } {
  const user = callerContext.getStore()?.user;
  const payload = encodeCommand(cmd);
  return user === undefined
    ? { kind: EntryKind.Mvcc, payload }
    : { kind: EntryKind.MvccAs, payload: encodeCommandAs(user, payload) };
}
