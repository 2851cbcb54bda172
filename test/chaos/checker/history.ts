/**
 * The shape of a recorded history: one entry per client operation on one key, with when it
 * was invoked and when (if ever) its answer came back. An operation whose outcome is unknown
 * (deadline, connection lost after the request left) has no return time: it may or may not
 * have taken effect, at any moment after its invocation.
 */

/** What a client asked for, on one key. `cas` puts `value` only if the key's value is `expected` (null: absent). */
export type KvOp =
  | { readonly kind: 'put'; readonly value: string }
  | { readonly kind: 'get' }
  | { readonly kind: 'delete' }
  | { readonly kind: 'cas'; readonly expected: string | null; readonly value: string };

/** What the cluster answered: get's value (null: absent), delete's count, cas's outcome; put has none. */
export type KvResult =
  | { readonly kind: 'put' }
  | { readonly kind: 'get'; readonly value: string | null }
  | { readonly kind: 'delete'; readonly deleted: number }
  | { readonly kind: 'cas'; readonly succeeded: boolean };

/** One operation of a history. returnMs and result are both absent when the outcome is unknown. */
export interface HistoryOp {
  /** Unique within the history (the order it was recorded in). */
  readonly id: number;
  /** Which client worker ran it (a worker runs one operation at a time). */
  readonly process: number;
  readonly key: string;
  readonly op: KvOp;
  /** Monotonic milliseconds (performance.now()) when the request was issued. */
  readonly invokeMs: number;
  /** Monotonic milliseconds when the answer arrived; undefined = unknown outcome (return at +infinity). */
  readonly returnMs?: number;
  /** The answer; undefined exactly when returnMs is. */
  readonly result?: KvResult;
}

function show(v: string | null): string {
  return v === null ? 'nil' : JSON.stringify(v);
}

/** A one-line description of an operation, for reports. */
export function formatOp(h: HistoryOp, originMs = 0): string {
  const op = h.op;
  let what: string;
  switch (op.kind) {
    case 'put':
      what = `put(${show(op.value)})`;
      break;
    case 'get':
      what = 'get()';
      break;
    case 'delete':
      what = 'delete()';
      break;
    case 'cas':
      what = `cas(${show(op.expected)} -> ${show(op.value)})`;
      break;
  }
  const r = h.result;
  let out = '?';
  if (r !== undefined) {
    if (r.kind === 'get') out = show(r.value);
    else if (r.kind === 'delete') out = `deleted=${r.deleted}`;
    else if (r.kind === 'cas') out = r.succeeded ? 'ok' : 'failed';
    else out = 'ok';
  }
  const t0 = (h.invokeMs - originMs).toFixed(1);
  const t1 = h.returnMs === undefined ? 'inf' : (h.returnMs - originMs).toFixed(1);
  return `#${h.id} p${h.process} [${t0}, ${t1}] ${what} => ${out}`;
}
