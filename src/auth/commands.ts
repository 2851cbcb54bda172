/**
 * The auth changes that travel through raft (EntryKind.Auth), and their codec: JSON with
 * byte strings in base64. Entries carry password hashes, never passwords.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { type Permission, PermType } from './types.js';

/** One auth change, as the Auth service proposes it and every member applies it. */
export type AuthCommand =
  | { readonly type: 'authEnable' }
  | { readonly type: 'authDisable' }
  | {
      readonly type: 'authenticate';
      readonly user: string;
      /** The member-chosen simple token every member will accept for the user. */
      readonly token: string;
      /** The auth revision the password was checked at: a user changed since is refused. */
      readonly checkedRevision: number;
      /** The proposer's clock when the token was issued (the TTL counts from it). */
      readonly issuedAtMs: number;
    }
  | {
      readonly type: 'userAdd';
      readonly name: string;
      readonly passwordHash: string | undefined;
    }
  | { readonly type: 'userDelete'; readonly name: string }
  | { readonly type: 'userChangePassword'; readonly name: string; readonly passwordHash: string }
  | { readonly type: 'userGrantRole'; readonly user: string; readonly role: string }
  | { readonly type: 'userRevokeRole'; readonly name: string; readonly role: string }
  | { readonly type: 'roleAdd'; readonly name: string }
  | { readonly type: 'roleDelete'; readonly role: string }
  | { readonly type: 'roleGrantPermission'; readonly name: string; readonly perm: Permission }
  | {
      readonly type: 'roleRevokePermission';
      readonly role: string;
      readonly key: Uint8Array;
      readonly rangeEnd: Uint8Array;
    };

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: unknown): Uint8Array => {
  if (typeof s !== 'string') throw new Error('expected base64');
  return new Uint8Array(Buffer.from(s, 'base64'));
};

/** Encodes a command for an EntryKind.Auth entry. */
export function encodeAuthCommand(c: AuthCommand): Uint8Array {
  let plain: unknown = c;
  if (c.type === 'roleGrantPermission')
    plain = {
      ...c,
      perm: { permType: c.perm.permType, key: b64(c.perm.key), rangeEnd: b64(c.perm.rangeEnd) },
    };
  else if (c.type === 'roleRevokePermission') plain = { ...c, key: b64(c.key), rangeEnd: b64(c.rangeEnd) };
  return new TextEncoder().encode(JSON.stringify(plain));
}

const TYPES: ReadonlySet<string> = new Set([
  'authEnable',
  'authDisable',
  'authenticate',
  'userAdd',
  'userDelete',
  'userChangePassword',
  'userGrantRole',
  'userRevokeRole',
  'roleAdd',
  'roleDelete',
  'roleGrantPermission',
  'roleRevokePermission',
]);

/** Decodes an EntryKind.Auth payload; throws INVALID_ARGUMENT for bytes no member could have proposed. */
export function decodeAuthCommand(bytes: Uint8Array): AuthCommand {
  try {
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, checked field by field below
    const o = JSON.parse(new TextDecoder().decode(bytes)) as any;
    if (!o || typeof o.type !== 'string' || !TYPES.has(o.type)) throw new Error(`unknown type ${o?.type}`);
    if (o.type === 'roleGrantPermission') {
      const permType = Number(o.perm?.permType);
      if (![PermType.READ, PermType.WRITE, PermType.READWRITE].includes(permType))
        throw new Error('bad permission type');
      return {
        type: o.type,
        name: String(o.name),
        perm: { permType, key: unb64(o.perm.key), rangeEnd: unb64(o.perm.rangeEnd) },
      };
    }
    if (o.type === 'roleRevokePermission')
      return { type: o.type, role: String(o.role), key: unb64(o.key), rangeEnd: unb64(o.rangeEnd) };
    return o as AuthCommand;
  } catch (err) {
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `malformed auth command: ${(err as Error).message}`);
  }
}
