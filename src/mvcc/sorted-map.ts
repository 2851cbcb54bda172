/**
 * The ordered map the store is built on: sorted-btree's B+ tree. The package is CommonJS
 * with its class on `exports.default`, which ESM loaders (Node's, vitest's) unwrap
 * differently; loading it with require gives the same module object everywhere.
 */
import { createRequire } from 'node:module';

type SortedBtreeModule = typeof import('sorted-btree');

const { default: BTree } = createRequire(import.meta.url)('sorted-btree') as SortedBtreeModule;

/** An in-memory B+ tree map with a caller-supplied order. */
export type SortedMap<K, V> = import('sorted-btree').default<K, V>;

/** Creates an empty sorted map ordered by compare. */
export function createSortedMap<K, V>(compare: (a: K, b: K) => number): SortedMap<K, V> {
  return new BTree<K, V>(undefined, compare);
}
