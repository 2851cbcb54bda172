/**
 * The ordered map the store is built on: sorted-btree's B+ tree. The package is CommonJS
 * with its class on `exports.default`, which ESM loaders (Node's, vitest's) unwrap
 * differently; loading it with require gives the same module object everywhere.
 */
import { createRequire } from 'node:module';

type SortedBtreeModule = typeof import('sorted-btree');
type BulkLoadModule = typeof import('sorted-btree/extended/bulkLoad.js');

const require = createRequire(import.meta.url);
const { default: BTree } = require('sorted-btree') as SortedBtreeModule;
const { bulkLoad } = require('sorted-btree/extended/bulkLoad.js') as BulkLoadModule;

/** Entries per node: sorted-btree's default, for trees built either way. */
const MAX_NODE_SIZE = 32;

/** An in-memory B+ tree map with a caller-supplied order. */
export type SortedMap<K, V> = import('sorted-btree').default<K, V>;

/** Creates an empty sorted map ordered by compare. */
export function createSortedMap<K, V>(compare: (a: K, b: K) => number): SortedMap<K, V> {
  return new BTree<K, V>(undefined, compare, MAX_NODE_SIZE);
}

/**
 * A sorted map built in one pass from keys already in strictly ascending order (and their
 * values, index for index): linear, where inserting them one by one costs a descent each.
 * Throws if the keys are not strictly ascending.
 */
export function sortedMapOf<K, V>(keys: K[], values: V[], compare: (a: K, b: K) => number): SortedMap<K, V> {
  return bulkLoad(keys, values, MAX_NODE_SIZE, compare);
}
