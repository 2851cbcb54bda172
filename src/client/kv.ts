/**
 * The KV API: get, put, delete, transactions and compaction over etcd's KV service, with
 * typed results. Reads are retried freely; writes only when they certainly did not happen,
 * unless the call is marked idempotent.
 */
import type { CallOptions, Connection } from './connection.js';
import {
  type DeleteOptions,
  type DeleteResult,
  deleteRequest,
  deleteResult,
  type GetOptions,
  type GetResult,
  getResult,
  type PutOptions,
  type PutResult,
  putRequest,
  putResult,
  rangeRequest,
} from './kv-ops.js';
import { type Bytes, type KeyValue, toBytes } from './kv-types.js';
import { TxnBuilder } from './txn.js';

/** KV calls of one client. */
export class KV {
  constructor(private readonly connection: Connection) {}

  /** Reads a key or a range. */
  async get(key: Bytes, options: GetOptions & CallOptions = {}): Promise<GetResult> {
    const r = await this.connection.unary('KV', 'Range', rangeRequest(toBytes(key), options), {
      idempotent: true,
      ...options,
    });
    return getResult(r);
  }

  /** Reads one key; undefined when it does not exist. */
  async getOne(
    key: Bytes,
    options: Omit<GetOptions, 'prefix' | 'rangeEnd'> & CallOptions = {},
  ): Promise<KeyValue | undefined> {
    return (await this.get(key, { ...options, limit: 1 })).kvs[0];
  }

  /** Reads one key's value as UTF-8 text; undefined when it does not exist. */
  async getText(key: Bytes, options: CallOptions = {}): Promise<string | undefined> {
    return (await this.getOne(key, options))?.value.toString('utf8');
  }

  /** Writes a key. */
  async put(key: Bytes, value: Bytes, options: PutOptions & CallOptions = {}): Promise<PutResult> {
    const r = await this.connection.unary('KV', 'Put', putRequest(toBytes(key), toBytes(value), options), {
      leader: true,
      ...options,
    });
    return putResult(r);
  }

  /** Deletes a key or a range. */
  async delete(key: Bytes, options: DeleteOptions & CallOptions = {}): Promise<DeleteResult> {
    const r = await this.connection.unary('KV', 'DeleteRange', deleteRequest(toBytes(key), options), {
      leader: true,
      ...options,
    });
    return deleteResult(r);
  }

  /** Starts a transaction: `.if(key).value('==', v).success(op.put(...)).failure(...).commit()`. */
  txn(options: CallOptions = {}): TxnBuilder {
    return new TxnBuilder(this.connection, options);
  }

  /** Compacts the history up to `revision` (physical: wait until it is done). */
  async compact(revision: number, options: { physical?: boolean } & CallOptions = {}): Promise<number> {
    const r = await this.connection.unary(
      'KV',
      'Compact',
      { revision, physical: options.physical ?? false },
      { leader: true, idempotent: true, ...options },
    );
    return Number(r.header?.revision ?? 0);
  }
}
