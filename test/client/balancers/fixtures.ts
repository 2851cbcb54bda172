/** Shared fixtures for the balancer tests: a seeded PRNG and instance builders. */
import type { Instance, InstanceState } from '../../../src/client/balancers/types.js';

/** A deterministic PRNG (mulberry32) returning numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An instance with the given id, weight and state. */
export function inst(id: string, weight = 1, state: InstanceState = 'SERVING'): Instance {
  return { id, address: `${id}.local:2379`, weight, state };
}

/** Instances named i0..i{n-1}, all SERVING with weight 1. */
export function many(n: number): Instance[] {
  return Array.from({ length: n }, (_, k) => inst(`i${k}`));
}

/** Counts picks by instance id. */
export function tally(picks: readonly (Instance | undefined)[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of picks) {
    const id = p?.id ?? 'undefined';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Keys key-0..key-{n-1}. */
export function keys(n: number): string[] {
  return Array.from({ length: n }, (_, k) => `key-${k}`);
}

/**
 * Pearson's chi-square statistic of observed counts against expected shares (which sum to 1).
 * Compare with CHI_SQUARE_CRITICAL: a fair source exceeds it once in a million seeds.
 */
export function chiSquare(counts: ReadonlyMap<string, number>, shares: ReadonlyMap<string, number>): number {
  const total = [...counts.values()].reduce((x, y) => x + y, 0);
  let statistic = 0;
  for (const [id, share] of shares) {
    const expected = total * share;
    const observed = counts.get(id) ?? 0;
    statistic += (observed - expected) ** 2 / expected;
  }
  return statistic;
}

/** Chi-square critical values at p = 1e-6, indexed by degrees of freedom (categories - 1). */
export const CHI_SQUARE_CRITICAL: Readonly<Record<number, number>> = {
  1: 23.93,
  2: 27.63,
  3: 30.66,
  4: 33.38,
  5: 35.89,
  6: 38.26,
  7: 40.52,
  8: 42.7,
  9: 44.81,
};
