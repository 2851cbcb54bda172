/**
 * etcd's simple tokens on one member: an opaque random token names a user until it has not
 * been used for its TTL (each use restarts the TTL, as etcd's simple token). Tokens are
 * issued through raft (every member applies the Authenticate entry and learns the token), so
 * a client may present its token to any member. Member-local and not persisted: a restart
 * forgets them and clients authenticate again on "invalid auth token", as with etcd.
 */

/** etcd's --auth-token simple default TTL: 5 minutes. */
export const DEFAULT_TOKEN_TTL_MS = 5 * 60 * 1000;
/** Most live tokens a member keeps; past it the least recently used is forgotten. */
export const TOKENS_MAX = 100_000;

interface TokenEntry {
  readonly user: string;
  expiresAtMs: number;
}

/** The simple tokens this member accepts. */
export class TokenTable {
  /** Invariant: iteration order is least recently used first (an entry is re-inserted on use). */
  private readonly tokens = new Map<string, TokenEntry>();

  constructor(
    private readonly ttlMs: number = DEFAULT_TOKEN_TTL_MS,
    private readonly now: () => number = Date.now,
    private readonly max: number = TOKENS_MAX,
  ) {}

  /** Registers a token issued at issuedAtMs (ignored if it already expired). */
  add(token: string, user: string, issuedAtMs: number): void {
    const expiresAtMs = Math.max(issuedAtMs, 0) + this.ttlMs;
    if (expiresAtMs <= this.now()) return;
    this.tokens.delete(token);
    this.tokens.set(token, { user, expiresAtMs });
    while (this.tokens.size > this.max) {
      const oldest = this.tokens.keys().next().value as string;
      this.tokens.delete(oldest);
    }
  }

  /** The user a live token names (restarting its TTL), or undefined. */
  use(token: string): string | undefined {
    const e = this.tokens.get(token);
    if (!e) return undefined;
    const now = this.now();
    if (e.expiresAtMs <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expiresAtMs = now + this.ttlMs;
    this.tokens.delete(token);
    this.tokens.set(token, e);
    return e.user;
  }

  /** Forgets every token of a user (deleted, password changed). */
  revokeUser(user: string): void {
    for (const [t, e] of this.tokens) if (e.user === user) this.tokens.delete(t);
  }

  /** Forgets every token (auth disabled, state replaced by a snapshot). */
  clear(): void {
    this.tokens.clear();
  }

  /** How many tokens are kept. */
  get size(): number {
    return this.tokens.size;
  }
}
