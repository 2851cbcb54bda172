/**
 * etcd's Auth service: enable/disable, status, Authenticate (simple tokens issued through
 * raft so every member accepts them), and user and role management. Passwords are hashed
 * here, once, on the member that receives the request: the proposed entry carries the hash.
 * Wrong credentials get etcd's one answer whether or not the user exists (an unknown user
 * costs a decoy hash, so the time tells nothing either), and failures are rate-limited per
 * user name and per peer address.
 */
import { randomBytes } from 'node:crypto';
import type { AuthCommand } from '../auth/commands.js';
import { FailureLimiter } from '../auth/failure-limiter.js';
import { hashPassword, verifyDecoy, verifyPassword } from '../auth/password.js';
import { type Permission, PermType } from '../auth/types.js';
import { CairnError, ErrorCode } from '../common/errors.js';
import type { AuthGate } from './auth-gate.js';
import type { AuthRule } from './auth-guard.js';
import { toGrpcError } from './errors.js';
import type { WireHeader } from './header.js';

/** What the Auth service needs from the member. */
export interface AuthBackend {
  header(): WireHeader;
  /** Proposes an auth command through raft; resolves with the auth revision after it, rejects with the store's error. */
  propose(command: AuthCommand): Promise<number>;
  /** Waits until this member has applied everything committed before the call (a linearizable read). */
  linearizableBarrier(): Promise<void>;
}

/** How failed authentications are limited. */
export interface AuthRateLimits {
  /** Failures per user name per window. */
  readonly perUserFailuresMax: number;
  /** Failures per peer address per window. */
  readonly perPeerFailuresMax: number;
  readonly windowMs: number;
  /** Most names and addresses tracked at once. */
  readonly keysMax: number;
}

/** Default limits: 5 failures per name and 20 per address in 30 s; 10,000 entries. */
export const DEFAULT_AUTH_RATE_LIMITS: AuthRateLimits = {
  perUserFailuresMax: 5,
  perPeerFailuresMax: 20,
  windowMs: 30_000,
  keysMax: 10_000,
};

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
type Wire = any;
type Callback = (err: Error | null, value?: unknown) => void;
type Handler = (call: { request: Wire; getPeer(): string }, cb: Callback) => void;

function unary(fn: (request: Wire, peer: string) => Promise<unknown>): Handler {
  return (call, cb) => {
    fn(call.request, call.getPeer()).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toGrpcError(err)),
    );
  };
}

/** The host of a gRPC peer string ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000"), without the port. */
export function peerHost(peer: string): string {
  const i = peer.lastIndexOf(':');
  return i > 0 ? peer.slice(0, i) : peer;
}

function permToWire(p: Permission): Wire {
  return { permType: p.permType, key: Buffer.from(p.key), range_end: Buffer.from(p.rangeEnd) };
}

const bytes = (b: unknown): Uint8Array => (b instanceof Uint8Array ? new Uint8Array(b) : new Uint8Array(0));

/** The per-method rules of the Auth service: admin calls need root; a user may read itself and its roles. */
export function authServiceRules(gate: AuthGate): Record<string, AuthRule> {
  const admin: AuthRule = (c) => gate.requireAdmin(c);
  const selfOrAdmin =
    (nameOf: (w: Wire) => string): AuthRule =>
    (c, w) => {
      const user = gate.requireUser(c);
      if (user !== undefined && user !== nameOf(w)) gate.requireAdmin(c);
    };
  const ownRoleOrAdmin: AuthRule = (c, w) => {
    const user = gate.requireUser(c);
    if (user !== undefined && !(gate.auth.user(user)?.roles.includes(String(w.role ?? '')) ?? false))
      gate.requireAdmin(c);
  };
  return {
    AuthEnable: admin,
    AuthDisable: admin,
    AuthStatus: () => {},
    Authenticate: () => {},
    UserAdd: admin,
    UserGet: selfOrAdmin((w) => String(w.name ?? '')),
    UserList: admin,
    UserDelete: admin,
    UserChangePassword: selfOrAdmin((w) => String(w.name ?? '')),
    UserGrantRole: admin,
    UserRevokeRole: admin,
    RoleAdd: admin,
    RoleGet: ownRoleOrAdmin,
    RoleList: admin,
    RoleDelete: admin,
    RoleGrantPermission: admin,
    RoleRevokePermission: admin,
  };
}

/** The handlers of etcdserverpb.Auth. */
export function authHandlers(
  gate: AuthGate,
  backend: AuthBackend,
  limits: AuthRateLimits = DEFAULT_AUTH_RATE_LIMITS,
): Record<string, Handler> {
  const byUser = new FailureLimiter({
    failuresMax: limits.perUserFailuresMax,
    windowMs: limits.windowMs,
    keysMax: limits.keysMax,
  });
  const byPeer = new FailureLimiter({
    failuresMax: limits.perPeerFailuresMax,
    windowMs: limits.windowMs,
    keysMax: limits.keysMax,
  });
  let tokenSeq = 0;
  const header = () => ({ header: backend.header() });
  const change = (cmd: AuthCommand) =>
    unary(async () => {
      await backend.propose(cmd);
      return header();
    });
  const run =
    (toCommand: (w: Wire) => AuthCommand | Promise<AuthCommand>): Handler =>
    (call, cb) =>
      unary(async (w) => {
        await backend.propose(await toCommand(w));
        return header();
      })(call, cb);

  const authenticate = async (w: Wire, peer: string): Promise<unknown> => {
    const name = String(w.name ?? '');
    const password = String(w.password ?? '');
    const userKey = `user:${name}`;
    const peerKey = `peer:${peerHost(peer)}`;
    if (byUser.blocked(userKey) || byPeer.blocked(peerKey))
      throw new CairnError(ErrorCode.AUTH_RATE_LIMITED, 'too many failed authentications');
    await backend.linearizableBarrier();
    const store = gate.auth;
    if (!store.enabled) throw new CairnError(ErrorCode.AUTH_NOT_ENABLED, 'authentication is not enabled');
    const checkedRevision = store.revision;
    const user = store.user(name);
    const ok =
      user?.passwordHash !== undefined
        ? await verifyPassword(password, user.passwordHash)
        : await verifyDecoy(password);
    if (!ok) {
      byUser.fail(userKey);
      byPeer.fail(peerKey);
      throw new CairnError(ErrorCode.AUTH_FAILED, 'authentication failed, invalid user ID or password');
    }
    byUser.succeed(userKey);
    const token = `${randomBytes(12).toString('base64url')}.${++tokenSeq}`;
    await backend.propose({
      type: 'authenticate',
      user: name,
      token,
      checkedRevision,
      issuedAtMs: Date.now(),
    });
    return { ...header(), token };
  };

  return {
    AuthEnable: change({ type: 'authEnable' }),
    AuthDisable: change({ type: 'authDisable' }),
    AuthStatus: unary(async () => {
      await backend.linearizableBarrier();
      return { ...header(), enabled: gate.auth.enabled, authRevision: gate.auth.revision };
    }),
    Authenticate: unary(authenticate),
    UserAdd: run(async (w) => {
      const name = String(w.name ?? '');
      if (name === '') throw new CairnError(ErrorCode.USER_EMPTY, 'user name is empty');
      const noPassword = w.options?.no_password === true;
      return {
        type: 'userAdd',
        name,
        passwordHash: noPassword ? undefined : await hashPassword(String(w.password ?? '')),
      };
    }),
    UserGet: unary(async (w) => {
      await backend.linearizableBarrier();
      const u = gate.auth.user(String(w.name ?? ''));
      if (!u) throw new CairnError(ErrorCode.USER_NOT_FOUND, 'user name not found');
      return { ...header(), roles: [...u.roles] };
    }),
    UserList: unary(async () => {
      await backend.linearizableBarrier();
      return { ...header(), users: gate.auth.userNames() };
    }),
    UserDelete: run((w) => ({ type: 'userDelete', name: String(w.name ?? '') })),
    UserChangePassword: run(async (w) => ({
      type: 'userChangePassword',
      name: String(w.name ?? ''),
      passwordHash: await hashPassword(String(w.password ?? '')),
    })),
    UserGrantRole: run((w) => ({
      type: 'userGrantRole',
      user: String(w.user ?? ''),
      role: String(w.role ?? ''),
    })),
    UserRevokeRole: run((w) => ({
      type: 'userRevokeRole',
      name: String(w.name ?? ''),
      role: String(w.role ?? ''),
    })),
    RoleAdd: run((w) => ({ type: 'roleAdd', name: String(w.name ?? '') })),
    RoleGet: unary(async (w) => {
      await backend.linearizableBarrier();
      const r = gate.auth.role(String(w.role ?? ''));
      if (!r) throw new CairnError(ErrorCode.ROLE_NOT_FOUND, 'role name not found');
      return { ...header(), perm: r.permissions.map(permToWire) };
    }),
    RoleList: unary(async () => {
      await backend.linearizableBarrier();
      return { ...header(), roles: gate.auth.roleNames() };
    }),
    RoleDelete: run((w) => ({ type: 'roleDelete', role: String(w.role ?? '') })),
    RoleGrantPermission: run((w) => {
      const permType = Number(w.perm?.permType ?? 0);
      if (![PermType.READ, PermType.WRITE, PermType.READWRITE].includes(permType))
        throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'etcdserver: invalid permission type');
      return {
        type: 'roleGrantPermission',
        name: String(w.name ?? ''),
        perm: { permType, key: bytes(w.perm?.key), rangeEnd: bytes(w.perm?.range_end) },
      };
    }),
    RoleRevokePermission: run((w) => ({
      type: 'roleRevokePermission',
      role: String(w.role ?? ''),
      key: bytes(w.key),
      rangeEnd: bytes(w.range_end),
    })),
  };
}
