/**
 * The fluent transaction builder: `kv.txn().if(key).value('==', v).success(op.put(...))
 * .failure(op.get(...)).commit()` — etcd's compare-then-else transaction, with the comparisons
 * and operations typed.
 */
import type { CallOptions, Connection, Wire } from './connection.js';
import { type Op, type OpResult, opResult, requestOp } from './kv-ops.js';
import { type Bytes, type RangeSelector, rangeEndOf, toBytes } from './kv-types.js';

/** A comparison operator. */
export type CompareOp = '==' | '!=' | '>' | '<';

const RESULT: Record<CompareOp, number> = { '==': 0, '>': 1, '<': 2, '!=': 3 };

/** The result of a committed transaction. */
export interface TxnResult {
  /** True when every comparison held (the `success` branch ran). */
  succeeded: boolean;
  /** The store's revision after the transaction. */
  revision: number;
  /** The results of the branch that ran, in order. */
  responses: OpResult[];
}

/** The second half of `.if(key)`: what of the key to compare. */
export interface CompareBuilder {
  /** Compares the value. */
  value(operator: CompareOp, value: Bytes): TxnBuilder;
  /** Compares the version (0 when the key does not exist). */
  version(operator: CompareOp, version: number): TxnBuilder;
  /** Compares the creation revision (0 when the key does not exist). */
  createRevision(operator: CompareOp, revision: number): TxnBuilder;
  /** Compares the last modification revision. */
  modRevision(operator: CompareOp, revision: number): TxnBuilder;
  /** Compares the attached lease id. */
  lease(operator: CompareOp, lease: number): TxnBuilder;
}

/** Builds and commits one transaction. */
export class TxnBuilder {
  private readonly compares: Wire[] = [];
  private readonly successOps: Op[] = [];
  private readonly failureOps: Op[] = [];

  constructor(
    private readonly connection: Connection,
    private readonly callOptions: CallOptions = {},
  ) {}

  /** Starts a comparison on a key (or a range, with `selector`); all comparisons must hold. */
  if(key: Bytes, selector: RangeSelector = {}): CompareBuilder {
    const k = toBytes(key);
    const add = (operator: CompareOp, target: number, field: string, value: unknown): TxnBuilder => {
      if (!(operator in RESULT)) throw new RangeError(`unknown comparison ${String(operator)}`);
      this.compares.push({
        result: RESULT[operator],
        target,
        key: k,
        range_end: rangeEndOf(k, selector),
        [field]: value,
      });
      return this;
    };
    return {
      version: (o, v) => add(o, 0, 'version', v),
      createRevision: (o, v) => add(o, 1, 'create_revision', v),
      modRevision: (o, v) => add(o, 2, 'mod_revision', v),
      value: (o, v) => add(o, 3, 'value', toBytes(v)),
      lease: (o, v) => add(o, 4, 'lease', v),
    };
  }

  /** Operations to run when every comparison holds (etcd's `success` branch; not `then`, so a builder is never mistaken for a promise). */
  success(...ops: Op[]): this {
    this.successOps.push(...ops);
    return this;
  }

  /** Operations to run otherwise (etcd's `failure` branch). */
  failure(...ops: Op[]): this {
    this.failureOps.push(...ops);
    return this;
  }

  /** The wire TxnRequest. */
  toRequest(): Wire {
    return {
      compare: this.compares,
      success: this.successOps.map(requestOp),
      failure: this.failureOps.map(requestOp),
    };
  }

  /** Sends the transaction. Retried after an unknown outcome only when it only reads, or the call says idempotent. */
  async commit(): Promise<TxnResult> {
    const readOnly = [...this.successOps, ...this.failureOps].every((o) => o.kind === 'get');
    const r = await this.connection.unary('KV', 'Txn', this.toRequest(), {
      leader: !readOnly,
      ...this.callOptions,
      idempotent: this.callOptions.idempotent ?? readOnly,
    });
    const revision = Number(r.header?.revision ?? 0);
    return {
      succeeded: Boolean(r.succeeded),
      revision,
      responses: ((r.responses ?? []) as Wire[]).map((x) => opResult(x, revision)),
    };
  }
}
