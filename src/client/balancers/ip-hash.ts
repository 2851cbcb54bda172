/**
 * IP hash (after nginx): a client's address picks a slot among all known instances, so a
 * client keeps its instance; when that one is not SERVING the address is re-hashed, so only
 * that instance's clients move. IPv4 addresses hash on their first three octets (a /24 stays
 * together, as in nginx); other addresses hash whole.
 */
import { hash32 } from './hash.js';
import { type Balancer, type BalancerOptions, eligible, type Instance, randomIndex } from './types.js';

/** Re-hash attempts before falling back to a scan for a serving instance (nginx uses 20). */
const MAX_REHASHES = 20;

/** The part of a client address that is hashed: an IPv4 /24, or the whole address. */
export function addressHashKey(address: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/i.exec(address);
  return v4 === null ? address.toLowerCase() : `${v4[1]}.${v4[2]}.${v4[3]}`;
}

/** Maps client addresses to instances, stable while membership is stable. */
export class IpHashBalancer implements Balancer {
  private readonly random: () => number;
  private all: Instance[] = [];
  private serving: Instance[] = [];
  private servingIds = new Set<string>();

  constructor(options: BalancerOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  /** Replaces the instance set; non-serving instances keep their slot but are skipped. */
  update(instances: readonly Instance[]): void {
    this.all = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.serving = eligible(this.all);
    this.servingIds = new Set(this.serving.map((i) => i.id));
  }

  /** The instance for client address `key`; without one, a random serving instance. */
  pick(key?: string): Instance | undefined {
    if (this.serving.length === 0) return undefined;
    if (key === undefined) return this.serving[randomIndex(this.random, this.serving.length)];
    const base = addressHashKey(key);
    for (let attempt = 0; attempt <= MAX_REHASHES; attempt++) {
      const candidate = this.all[hash32(base, attempt) % this.all.length] as Instance;
      if (this.servingIds.has(candidate.id)) return candidate;
    }
    return this.serving[hash32(base) % this.serving.length];
  }
}
