/**
 * The coordination recipes' CoordinationKv with the caller's permissions applied: every
 * range, Txn, wait and watch a recipe makes while serving a call is checked against the
 * caller in callerContext, so a lock, a registration or a transaction record is reachable
 * only with permission on its keys, whatever service reaches it. No context is a caller with
 * no user (guardService enters none for one): allowed while auth is off, refused once it is
 * on, even for a call that began before. The server's own work (the leader's transaction
 * scans) uses the inner CoordinationKv, unrestricted. An open watch is re-checked whenever
 * the auth state changes and on every batch: a revoked permission or a deleted user ends it
 * with PERMISSION_DENIED at once.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { CoordinationKv, WatchBatch, WatchRange } from '../coordination/ports.js';
import type { MvccStore } from '../mvcc/index.js';
import { type AuthGate, type Caller, callerContext } from './auth-gate.js';

/** The caller of work outside any caller's context: a call with no user. */
const NO_USER: Caller = { user: undefined };

/** The caller whose permissions apply to the operation being made now. */
const currentCaller = (): Caller => callerContext.getStore() ?? NO_USER;

/** CoordinationKv that checks the current caller's permissions before each operation. */
export function authorizedCoordination(
  inner: CoordinationKv,
  gate: AuthGate,
  store: () => MvccStore,
): CoordinationKv {
  const keysOfLease = (id: number) => store().keysOfLease(id);
  const watchChecked = async function* (
    caller: Caller,
    range: WatchRange,
    fromRevision: number,
    signal: AbortSignal,
  ): AsyncGenerator<WatchBatch> {
    const allowed = () => gate.permitted(caller, 'read', range.key, range.rangeEnd);
    gate.check(caller, 'read', range.key, range.rangeEnd);
    const stop = new AbortController();
    let revoked = false;
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const unsubscribe = gate.onChange(() => {
      if (!allowed()) {
        revoked = true;
        stop.abort();
      }
    });
    try {
      for await (const batch of inner.watch(range, fromRevision, stop.signal)) {
        if (!allowed()) revoked = true;
        if (revoked) break;
        yield batch;
      }
      if (revoked && !signal.aborted) throw new CairnError(ErrorCode.PERMISSION_DENIED, 'permission denied');
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  };
  return {
    range: async (req) => {
      gate.checkRange(currentCaller(), req);
      return inner.range(req);
    },
    txn: async (req) => {
      gate.checkTxn(currentCaller(), req, keysOfLease);
      return inner.txn(req);
    },
    waitDelete: async (key, fromRevision, signal) => {
      gate.check(currentCaller(), 'read', key);
      return inner.waitDelete(key, fromRevision, signal);
    },
    watch: (range, fromRevision, signal) => watchChecked(currentCaller(), range, fromRevision, signal),
  };
}
