/**
 * The auth model every member replicates: users (a salted slow password hash, never the
 * password, and role names), roles (key permissions) and whether auth is enabled. The
 * names and the permission types are etcd's (authpb), so the Auth service maps them 1:1.
 */

/** authpb.Permission.Type: what a permission lets a role do on its keys. */
export enum PermType {
  READ = 0,
  WRITE = 1,
  READWRITE = 2,
}

/** What a request needs on a key range. */
export type Access = 'read' | 'write';

/** One key or key range (etcd's range_end semantics: empty = the key alone, "\0" = every key from key on). */
export interface Permission {
  readonly permType: PermType;
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
}

/** A role: its permissions, sorted by key then range end. */
export interface Role {
  readonly name: string;
  readonly permissions: readonly Permission[];
}

/** A user: its password hash (absent for a no-password user) and its role names, sorted. */
export interface User {
  readonly name: string;
  /** The scrypt hash string (password.ts); undefined: the user has no password (certificate only). */
  readonly passwordHash: string | undefined;
  readonly roles: readonly string[];
  /** The auth revision of the user's last change: tokens checked against an older one are refused. */
  readonly revision: number;
}

/** The name of the user that must exist, with the root role, before auth can be enabled. */
export const ROOT_USER = 'root';
/** The role that may do everything, including every admin call. */
export const ROOT_ROLE = 'root';
