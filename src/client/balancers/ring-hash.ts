/**
 * Consistent hashing on a ring with virtual nodes: each eligible instance owns
 * `virtualNodesPerWeight * weight` points; a key goes to the first point at or after its hash.
 * Adding or removing an instance moves only the keys on the arcs it gains or loses (~1/N).
 */
import { hash32 } from './hash.js';
import {
  type Balancer,
  type BalancerOptions,
  eligible,
  type Instance,
  randomIndex,
  weightOf,
} from './types.js';

/** Options for RingHashBalancer. */
export interface RingHashOptions extends BalancerOptions {
  /** Virtual nodes per unit of weight; defaults to 160 (nginx's figure). */
  virtualNodesPerWeight?: number;
}

/** Maps keys to instances on a hash ring with virtual nodes. */
export class RingHashBalancer implements Balancer {
  private readonly random: () => number;
  private readonly virtualNodesPerWeight: number;
  private points: Uint32Array = new Uint32Array(0);
  private owners: Instance[] = [];

  constructor(options: RingHashOptions = {}) {
    this.random = options.random ?? Math.random;
    this.virtualNodesPerWeight = options.virtualNodesPerWeight ?? 160;
  }

  /** Rebuilds the ring from the eligible instances. */
  update(instances: readonly Instance[]): void {
    const entries: { point: number; owner: Instance }[] = [];
    for (const instance of eligible(instances)) {
      const count = Math.max(1, Math.round(this.virtualNodesPerWeight * weightOf(instance)));
      for (let v = 0; v < count; v++) entries.push({ point: hash32(`${instance.id}#${v}`), owner: instance });
    }
    // Ties on a point are broken by id so the ring does not depend on input order.
    entries.sort(
      (x, y) => x.point - y.point || (x.owner.id < y.owner.id ? -1 : x.owner.id > y.owner.id ? 1 : 0),
    );
    this.points = Uint32Array.from(entries, (e) => e.point);
    this.owners = entries.map((e) => e.owner);
  }

  /** The owner of `key`; without a key, the owner of a random point. */
  pick(key?: string): Instance | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    if (key === undefined) return this.owners[randomIndex(this.random, n)];
    const h = hash32(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === n ? 0 : lo];
  }
}
