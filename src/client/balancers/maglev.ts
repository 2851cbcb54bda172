/**
 * Maglev consistent hashing: a lookup table of prime size filled by per-instance permutations
 * (offset and skip from two hashes of the id), taking turns in proportion to weight. Spread is
 * near-even (equal weights differ by at most one entry); membership changes move slightly more
 * than the ~1/N a ring moves.
 */
import { CairnError, ErrorCode } from '../../common/errors.js';
import { hash32 } from './hash.js';
import {
  type Balancer,
  type BalancerOptions,
  eligible,
  type Instance,
  randomIndex,
  weightOf,
} from './types.js';

/** Options for MaglevBalancer. */
export interface MaglevOptions extends BalancerOptions {
  /** Lookup table size; must be prime. Defaults to 65537. */
  tableSize?: number;
}

/** Whether n is prime (trial division; table sizes are small). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Maps keys to instances through a Maglev lookup table. */
export class MaglevBalancer implements Balancer {
  private readonly random: () => number;
  /** The lookup table size (prime). */
  readonly tableSize: number;
  private instances: Instance[] = [];
  private table: Int32Array = new Int32Array(0);

  constructor(options: MaglevOptions = {}) {
    this.random = options.random ?? Math.random;
    this.tableSize = options.tableSize ?? 65537;
    if (!isPrime(this.tableSize)) {
      throw new CairnError(ErrorCode.INVALID_ARGUMENT, `maglev table size ${this.tableSize} is not prime`);
    }
  }

  /** Rebuilds the lookup table from the eligible instances. */
  update(instances: readonly Instance[]): void {
    // Sorted by id so the table does not depend on the order instances arrive in.
    this.instances = eligible(instances).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const m = this.tableSize;
    const n = this.instances.length;
    this.table = new Int32Array(n === 0 ? 0 : m).fill(-1);
    if (n === 0) return;
    const offset = this.instances.map((i) => hash32(i.id, 0x9e3779b9) % m);
    const skip = this.instances.map((i) => (hash32(i.id, 0x7f4a7c15) % (m - 1)) + 1);
    const weights = this.instances.map(weightOf);
    const maxWeight = Math.max(...weights);
    const next = new Array<number>(n).fill(0);
    const placed = new Array<number>(n).fill(0);
    let filled = 0;
    for (let round = 1; filled < m; round++) {
      for (let i = 0; i < n && filled < m; i++) {
        // An instance takes a turn while its placements lag its weighted share of the rounds.
        if ((placed[i] as number) >= (round * (weights[i] as number)) / maxWeight) continue;
        let slot = ((offset[i] as number) + (next[i] as number) * (skip[i] as number)) % m;
        while (this.table[slot] !== -1) {
          next[i] = (next[i] as number) + 1;
          slot = ((offset[i] as number) + (next[i] as number) * (skip[i] as number)) % m;
        }
        this.table[slot] = i;
        next[i] = (next[i] as number) + 1;
        placed[i] = (placed[i] as number) + 1;
        filled++;
      }
    }
  }

  /** The owner of `key`; without a key, the owner of a random table entry. */
  pick(key?: string): Instance | undefined {
    if (this.instances.length === 0) return undefined;
    const slot = key === undefined ? randomIndex(this.random, this.tableSize) : hash32(key) % this.tableSize;
    return this.instances[this.table[slot] as number];
  }

  /** How many table entries each instance id owns (for inspection and tests). */
  entryCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const owner of this.table) {
      const id = (this.instances[owner] as Instance).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }
}
