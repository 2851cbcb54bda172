/**
 * The coordination recipes' CoordinationKv with the caller's permissions applied: every
 * range, Txn, wait and watch a recipe makes while serving a call is checked against the
 * caller in callerContext, so a lock, a registration or a transaction record is reachable
 * only with permission on its keys, whatever service reaches it. Work with no caller (the
 * server's own timers, such as the leader's transaction scans) is not restricted. An open
 * watch is re-checked whenever the auth state changes and on every batch: a revoked
 * permission or a deleted user ends it with PERMISSION_DENIED at once.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { CoordinationKv, WatchBatch, WatchRange } from '../coordination/ports.js';
import type { MvccStore } from '../mvcc/index.js';
import { type AuthGate, type Caller, callerContext } from './auth-gate.js';

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
      const caller = callerContext.getStore();
      if (caller) gate.checkRange(caller, req);
      return inner.range(req);
    },
    txn: async (req) => {
      const caller = callerContext.getStore();
      if (caller) gate.checkTxn(caller, req, keysOfLease);
      return inner.txn(req);
    },
    waitDelete: async (key, fromRevision, signal) => {
      const caller = callerContext.getStore();
      if (caller) gate.check(caller, 'read', key);
      return inner.waitDelete(key, fromRevision, signal);
    },
    watch: (range, fromRevision, signal) => {
      const caller = callerContext.getStore();
      return caller
        ? watchChecked(caller, range, fromRevision, signal)
        : inner.watch(range, fromRevision, signal);
    },
  };
}
