/**
 * The replicated auth state (etcd's auth store): users, roles, whether auth is enabled and
 * the auth revision, changed only by applying AuthCommands from the log, so every member
 * holds the same state. Deterministic: no clock, no randomness; errors are etcd's.
 * Serialized whole (it is small) for persistence and snapshots.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { AuthCommand } from './commands.js';
import { isPasswordHash } from './password.js';
import { compareKeys, permits } from './permission-checker.js';
import { type Access, type Permission, ROOT_ROLE, ROOT_USER, type Role, type User } from './types.js';

/** What applying one command produced. */
export type AuthApplyResult =
  | { readonly ok: true; readonly revision: number }
  | { readonly ok: false; readonly error: CairnError };

/** Most users and most roles the store keeps (each change is one bounded entry). */
export const AUTH_NAMES_MAX = 10_000;
/** Most permissions one role keeps. */
export const ROLE_PERMISSIONS_MAX = 10_000;

function err(code: ErrorCode, message: string): AuthApplyResult {
  return { ok: false, error: new CairnError(code, message) };
}

function samePermKey(p: Permission, key: Uint8Array, rangeEnd: Uint8Array): boolean {
  return compareKeys(p.key, key) === 0 && compareKeys(p.rangeEnd, rangeEnd) === 0;
}

function byKey(a: Permission, b: Permission): number {
  return compareKeys(a.key, b.key) || compareKeys(a.rangeEnd, b.rangeEnd);
}

/** The persisted form (JSON), byte strings in base64. */
interface StoredAuth {
  enabled: boolean;
  revision: number;
  users: { name: string; passwordHash?: string; roles: string[]; revision: number }[];
  roles: { name: string; permissions: { permType: number; key: string; rangeEnd: string }[] }[];
}

/** Users, roles and the enabled flag, as every member applies them. */
export class AuthStore {
  private enabledFlag = false;
  /** Invariant: raised by one on every applied change. */
  private rev = 1;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();

  /** Whether auth is enabled (requests then need a user). */
  get enabled(): boolean {
    return this.enabledFlag;
  }

  /** The auth revision (etcd's authRevision). */
  get revision(): number {
    return this.rev;
  }

  /** A user, or undefined. */
  user(name: string): User | undefined {
    return this.users.get(name);
  }

  /** A role, or undefined. */
  role(name: string): Role | undefined {
    return this.roles.get(name);
  }

  /** Every user name, sorted. */
  userNames(): string[] {
    return [...this.users.keys()].sort();
  }

  /** Every role name, sorted. */
  roleNames(): string[] {
    return [...this.roles.keys()].sort();
  }

  /** Whether the user exists and has the root role. */
  isAdmin(user: string): boolean {
    return this.users.get(user)?.roles.includes(ROOT_ROLE) ?? false;
  }

  /** Whether `user` may do `access` on [key, rangeEnd) (root: everything; an unknown user: nothing). */
  permitted(user: string, access: Access, key: Uint8Array, rangeEnd?: Uint8Array): boolean {
    const u = this.users.get(user);
    if (!u) return false;
    if (u.roles.includes(ROOT_ROLE)) return true;
    const perms = u.roles.flatMap((r) => this.roles.get(r)?.permissions ?? []);
    return permits(perms, access, key, rangeEnd);
  }

  /** Applies one command; the same command on the same state gives the same result on every member. */
  apply(c: AuthCommand): AuthApplyResult {
    const r = this.applyInner(c);
    if (r.ok) this.rev++;
    return r.ok ? { ok: true, revision: this.rev } : r;
  }

  private applyInner(c: AuthCommand): AuthApplyResult {
    const ok: AuthApplyResult = { ok: true, revision: this.rev };
    switch (c.type) {
      case 'authEnable': {
        const root = this.users.get(ROOT_USER);
        if (!root) return err(ErrorCode.ROOT_USER_NOT_EXIST, 'root user does not exist');
        if (!root.roles.includes(ROOT_ROLE))
          return err(ErrorCode.ROOT_ROLE_NOT_EXIST, 'root user does not have root role');
        this.enabledFlag = true;
        return ok;
      }
      case 'authDisable':
        this.enabledFlag = false;
        return ok;
      case 'authenticate': {
        if (!this.enabledFlag) return err(ErrorCode.AUTH_NOT_ENABLED, 'authentication is not enabled');
        const u = this.users.get(c.user);
        // Changed (or deleted) since the password was checked: the check no longer holds.
        if (!u || u.revision > c.checkedRevision) return err(ErrorCode.AUTH_FAILED, 'authentication failed');
        return ok;
      }
      case 'userAdd': {
        if (c.name === '') return err(ErrorCode.USER_EMPTY, 'user name is empty');
        if (this.users.has(c.name)) return err(ErrorCode.USER_ALREADY_EXISTS, 'user name already exists');
        if (this.users.size >= AUTH_NAMES_MAX) return err(ErrorCode.OVERLOADED, 'too many users');
        if (c.passwordHash !== undefined && !isPasswordHash(c.passwordHash))
          return err(ErrorCode.INVALID_ARGUMENT, 'malformed password hash');
        this.users.set(c.name, {
          name: c.name,
          passwordHash: c.passwordHash,
          roles: [],
          revision: this.rev + 1,
        });
        return ok;
      }
      case 'userDelete': {
        if (this.enabledFlag && c.name === ROOT_USER)
          return err(ErrorCode.INVALID_AUTH_MGMT, 'cannot delete root while auth is enabled');
        if (!this.users.delete(c.name)) return err(ErrorCode.USER_NOT_FOUND, 'user name not found');
        return ok;
      }
      case 'userChangePassword': {
        const u = this.users.get(c.name);
        if (!u) return err(ErrorCode.USER_NOT_FOUND, 'user name not found');
        if (!isPasswordHash(c.passwordHash))
          return err(ErrorCode.INVALID_ARGUMENT, 'malformed password hash');
        this.users.set(c.name, { ...u, passwordHash: c.passwordHash, revision: this.rev + 1 });
        return ok;
      }
      case 'userGrantRole': {
        const u = this.users.get(c.user);
        if (!u) return err(ErrorCode.USER_NOT_FOUND, 'user name not found');
        // As etcd: the root role need not have been added as a role to be granted.
        if (c.role !== ROOT_ROLE && !this.roles.has(c.role))
          return err(ErrorCode.ROLE_NOT_FOUND, 'role name not found');
        if (u.roles.includes(c.role)) return ok;
        this.users.set(c.user, { ...u, roles: [...u.roles, c.role].sort(), revision: this.rev + 1 });
        return ok;
      }
      case 'userRevokeRole': {
        if (this.enabledFlag && c.name === ROOT_USER && c.role === ROOT_ROLE)
          return err(ErrorCode.INVALID_AUTH_MGMT, 'cannot revoke root from root while auth is enabled');
        const u = this.users.get(c.name);
        if (!u) return err(ErrorCode.USER_NOT_FOUND, 'user name not found');
        if (!u.roles.includes(c.role))
          return err(ErrorCode.ROLE_NOT_GRANTED, 'role is not granted to the user');
        this.users.set(c.name, { ...u, roles: u.roles.filter((r) => r !== c.role), revision: this.rev + 1 });
        return ok;
      }
      case 'roleAdd': {
        if (c.name === '') return err(ErrorCode.ROLE_EMPTY, 'role name is empty');
        if (this.roles.has(c.name)) return err(ErrorCode.ROLE_ALREADY_EXISTS, 'role name already exists');
        if (this.roles.size >= AUTH_NAMES_MAX) return err(ErrorCode.OVERLOADED, 'too many roles');
        this.roles.set(c.name, { name: c.name, permissions: [] });
        return ok;
      }
      case 'roleDelete': {
        if (this.enabledFlag && c.role === ROOT_ROLE)
          return err(ErrorCode.INVALID_AUTH_MGMT, 'cannot delete the root role while auth is enabled');
        if (!this.roles.delete(c.role)) return err(ErrorCode.ROLE_NOT_FOUND, 'role name not found');
        // As etcd: the role is taken from every user that had it.
        for (const u of [...this.users.values()]) {
          if (u.roles.includes(c.role))
            this.users.set(u.name, {
              ...u,
              roles: u.roles.filter((r) => r !== c.role),
              revision: this.rev + 1,
            });
        }
        return ok;
      }
      case 'roleGrantPermission': {
        const role = this.roles.get(c.name);
        if (!role) return err(ErrorCode.ROLE_NOT_FOUND, 'role name not found');
        const rest = role.permissions.filter((p) => !samePermKey(p, c.perm.key, c.perm.rangeEnd));
        if (rest.length >= ROLE_PERMISSIONS_MAX) return err(ErrorCode.OVERLOADED, 'too many permissions');
        const perm: Permission = {
          permType: c.perm.permType,
          key: Uint8Array.from(c.perm.key),
          rangeEnd: Uint8Array.from(c.perm.rangeEnd),
        };
        this.roles.set(c.name, { name: c.name, permissions: [...rest, perm].sort(byKey) });
        return ok;
      }
      case 'roleRevokePermission': {
        const role = this.roles.get(c.role);
        if (!role) return err(ErrorCode.ROLE_NOT_FOUND, 'role name not found');
        const rest = role.permissions.filter((p) => !samePermKey(p, c.key, c.rangeEnd));
        if (rest.length === role.permissions.length)
          return err(ErrorCode.PERMISSION_NOT_GRANTED, 'permission is not granted to the role');
        this.roles.set(c.role, { name: c.role, permissions: rest });
        return ok;
      }
    }
  }

  /** The whole state, for persistence and snapshots. */
  serialize(): Uint8Array {
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
    const stored: StoredAuth = {
      enabled: this.enabledFlag,
      revision: this.rev,
      users: [...this.users.values()].map((u) => ({
        name: u.name,
        ...(u.passwordHash !== undefined ? { passwordHash: u.passwordHash } : {}),
        roles: [...u.roles],
        revision: u.revision,
      })),
      roles: [...this.roles.values()].map((r) => ({
        name: r.name,
        permissions: r.permissions.map((p) => ({
          permType: p.permType,
          key: b64(p.key),
          rangeEnd: b64(p.rangeEnd),
        })),
      })),
    };
    return new TextEncoder().encode(JSON.stringify(stored));
  }

  /** Replaces the whole state with a serialized one (a snapshot was installed, or the member restarts). */
  replace(bytes: Uint8Array): void {
    let s: StoredAuth;
    try {
      s = JSON.parse(new TextDecoder().decode(bytes)) as StoredAuth;
    } catch (e) {
      throw new CairnError(ErrorCode.CORRUPT, `the auth state is malformed: ${(e as Error).message}`);
    }
    const unb64 = (t: string) => new Uint8Array(Buffer.from(t, 'base64'));
    this.enabledFlag = s.enabled === true;
    this.rev = Number(s.revision) || 1;
    this.users.clear();
    this.roles.clear();
    for (const u of s.users ?? [])
      this.users.set(u.name, {
        name: u.name,
        passwordHash: u.passwordHash,
        roles: [...u.roles],
        revision: u.revision,
      });
    for (const r of s.roles ?? [])
      this.roles.set(r.name, {
        name: r.name,
        permissions: r.permissions.map((p) => ({
          permType: p.permType,
          key: unb64(p.key),
          rangeEnd: unb64(p.rangeEnd),
        })),
      });
  }

  /** A store holding a serialized state. */
  static from(bytes: Uint8Array): AuthStore {
    const s = new AuthStore();
    s.replace(bytes);
    return s;
  }
}
