/**
 * A 32-bit string hash for the hashing balancers: FNV-1a over UTF-16 code units followed by
 * murmur3's finaliser, so near-identical strings ("a#1", "a#2") land far apart.
 */

/** Hashes `text` to an unsigned 32-bit integer; `seed` gives independent hash functions. */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
