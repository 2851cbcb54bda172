/** The JSON and table shapes of key-values, shared by get, del, watch and txn. */
import type { KeyValue } from '../../client/kv-types.js';
import type { Json } from '../output.js';
import { text } from '../output.js';

/** A key-value as cairnctl's JSON prints it. */
export function kvJson(kv: KeyValue): Json {
  return {
    key: text(kv.key),
    value: text(kv.value),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    lease: kv.lease === 0 ? '0' : kv.lease.toString(16),
  };
}

/** Table headers of key-values. */
export const KV_HEADERS = ['KEY', 'VALUE', 'VERSION', 'MOD_REV', 'LEASE'] as const;

/** A key-value as a table row. */
export function kvRow(kv: KeyValue): string[] {
  return [
    text(kv.key),
    text(kv.value),
    String(kv.version),
    String(kv.modRevision),
    kv.lease === 0 ? '' : kv.lease.toString(16),
  ];
}
