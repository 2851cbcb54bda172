/**
 * etcd's KV service: Range, Put, DeleteRange, Txn and Compact. Requests are converted,
 * validated (a bad request is refused before it reaches raft and changes nothing) and
 * size-checked, writes go through raft, and every answer carries etcd's header.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  type CompactionResponse,
  type DeleteRangeResponse,
  type PutResponse,
  type TxnResponse,
  validateDeleteRange,
  validatePut,
  validateRange,
  validateTxn,
} from '../mvcc/index.js';
import type { KvResult } from '../node/kv-state-machine.js';
import { toGrpcError } from './errors.js';
import type { WireHeader } from './header.js';
import {
  deleteFromWire,
  deleteToWire,
  putFromWire,
  putToWire,
  rangeFromWire,
  rangeToWire,
  txnFromWire,
  txnToWire,
} from './kv-wire.js';
import type { KvBackend } from './ports.js';
import { txnPutBytes } from './space-quota.js';

/** etcd's limit on operations in one Txn. */
export const TXN_OPS_MAX = 128;

// biome-ignore lint/suspicious/noExplicitAny: gRPC calls carry decoded wire objects
type Call = { request: any };
type Callback = (err: Error | null, value?: unknown) => void;
type Handler = (call: Call, cb: Callback) => void;

function unary(fn: (request: unknown) => Promise<unknown>): Handler {
  return (call, cb) => {
    fn(call.request).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toGrpcError(err)),
    );
  };
}

function check(err: CairnError | undefined): void {
  if (err) throw err;
}

function applied<T>(r: KvResult): T {
  if (!r.ok) throw r.error;
  return r.response as T;
}

/** The handlers of etcdserverpb.KV over a backend. */
export function kvHandlers(
  backend: KvBackend,
  opts: {
    maxRequestBytes: number;
    /** The space quota: throws NO_SPACE for a write of this many bytes that would pass it. */
    spaceCheck?: (costBytes: number) => void;
  },
): Record<string, Handler> {
  const tooLarge = (bytes: number) => {
    if (bytes > opts.maxRequestBytes)
      throw new CairnError(ErrorCode.TOO_LARGE, 'etcdserver: request is too large');
  };
  const at = (revision: number): WireHeader => ({ ...backend.header(), revision });
  return {
    Range: unary(async (w) => {
      const req = rangeFromWire(w);
      check(validateRange(req));
      const r = await backend.range(req, (w as { serializable?: boolean }).serializable === true);
      return rangeToWire(r, backend.header());
    }),
    Put: unary(async (w) => {
      const req = putFromWire(w);
      check(validatePut(req));
      tooLarge(req.key.byteLength + (req.value?.byteLength ?? 0));
      opts.spaceCheck?.(req.key.byteLength + (req.value?.byteLength ?? 0));
      const r = applied<PutResponse>(await backend.write({ type: 'put', request: req }));
      return putToWire(r, at(r.header.revision));
    }),
    DeleteRange: unary(async (w) => {
      const req = deleteFromWire(w);
      check(validateDeleteRange(req));
      const r = applied<DeleteRangeResponse>(await backend.write({ type: 'deleteRange', request: req }));
      return deleteToWire(r, at(r.header.revision));
    }),
    Txn: unary(async (w) => {
      const req = txnFromWire(w);
      check(validateTxn(req, TXN_OPS_MAX));
      const putBytes = txnPutBytes(req);
      if (putBytes > 0) opts.spaceCheck?.(putBytes);
      const r = applied<TxnResponse>(await backend.write({ type: 'txn', request: req }));
      return txnToWire(r, at(r.header.revision));
    }),
    Compact: unary(async (w) => {
      const wire = w as { revision?: number; physical?: boolean };
      const revision = Number(wire.revision ?? 0);
      if (!Number.isSafeInteger(revision))
        throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'etcdserver: revision is out of range');
      const r = applied<CompactionResponse>(
        await backend.write({ type: 'compact', request: { revision, physical: wire.physical === true } }),
      );
      return { header: at(r.header.revision) };
    }),
  };
}
