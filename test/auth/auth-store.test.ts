/**
 * Proves the replicated auth store applies etcd's rules (root user and role before enable,
 * etcd's errors, role deletion taken from users, permission grant/revoke, root protected
 * while enabled) deterministically, and that its serialized form restores the same state.
 */
import { describe, expect, test } from 'vitest';
import { AuthStore } from '../../src/auth/auth-store.js';
import { decodeAuthCommand, encodeAuthCommand } from '../../src/auth/commands.js';
import { hashPassword, verifyPassword } from '../../src/auth/password.js';
import { PermType } from '../../src/auth/types.js';
import { ErrorCode } from '../../src/common/errors.js';

const b = (s: string) => new TextEncoder().encode(s);
const HASH = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';

function codeOf(r: ReturnType<AuthStore['apply']>): string | undefined {
  return r.ok ? undefined : r.error.code;
}

describe('auth store', () => {
  test('enable needs the root user with the root role', () => {
    const s = new AuthStore();
    expect(codeOf(s.apply({ type: 'authEnable' }))).toBe(ErrorCode.ROOT_USER_NOT_EXIST);
    s.apply({ type: 'userAdd', name: 'root', passwordHash: HASH });
    expect(codeOf(s.apply({ type: 'authEnable' }))).toBe(ErrorCode.ROOT_ROLE_NOT_EXIST);
    // the root role may be granted without being added first, as etcd
    expect(s.apply({ type: 'userGrantRole', user: 'root', role: 'root' }).ok).toBe(true);
    expect(s.apply({ type: 'authEnable' }).ok).toBe(true);
    expect(s.enabled).toBe(true);
    expect(s.isAdmin('root')).toBe(true);
    expect(codeOf(s.apply({ type: 'userDelete', name: 'root' }))).toBe(ErrorCode.INVALID_AUTH_MGMT);
    expect(codeOf(s.apply({ type: 'userRevokeRole', name: 'root', role: 'root' }))).toBe(
      ErrorCode.INVALID_AUTH_MGMT,
    );
  });

  test("etcd's errors for names that exist, do not exist, or are empty", () => {
    const s = new AuthStore();
    expect(codeOf(s.apply({ type: 'userAdd', name: '', passwordHash: HASH }))).toBe(ErrorCode.USER_EMPTY);
    expect(codeOf(s.apply({ type: 'roleAdd', name: '' }))).toBe(ErrorCode.ROLE_EMPTY);
    s.apply({ type: 'userAdd', name: 'u', passwordHash: HASH });
    expect(codeOf(s.apply({ type: 'userAdd', name: 'u', passwordHash: HASH }))).toBe(
      ErrorCode.USER_ALREADY_EXISTS,
    );
    expect(codeOf(s.apply({ type: 'userDelete', name: 'nope' }))).toBe(ErrorCode.USER_NOT_FOUND);
    expect(codeOf(s.apply({ type: 'userGrantRole', user: 'u', role: 'r' }))).toBe(ErrorCode.ROLE_NOT_FOUND);
    s.apply({ type: 'roleAdd', name: 'r' });
    expect(codeOf(s.apply({ type: 'roleAdd', name: 'r' }))).toBe(ErrorCode.ROLE_ALREADY_EXISTS);
    expect(codeOf(s.apply({ type: 'userRevokeRole', name: 'u', role: 'r' }))).toBe(
      ErrorCode.ROLE_NOT_GRANTED,
    );
    expect(codeOf(s.apply({ type: 'roleRevokePermission', role: 'r', key: b('k'), rangeEnd: b('') }))).toBe(
      ErrorCode.PERMISSION_NOT_GRANTED,
    );
    expect(
      codeOf(s.apply({ type: 'authenticate', user: 'u', token: 't', checkedRevision: 99, issuedAtMs: 0 })),
    ).toBe(ErrorCode.AUTH_NOT_ENABLED);
  });

  test('permissions follow grants, revokes and role deletion', () => {
    const s = new AuthStore();
    s.apply({ type: 'userAdd', name: 'u', passwordHash: HASH });
    s.apply({ type: 'roleAdd', name: 'r' });
    s.apply({ type: 'userGrantRole', user: 'u', role: 'r' });
    expect(s.permitted('u', 'read', b('a/1'))).toBe(false);
    s.apply({
      type: 'roleGrantPermission',
      name: 'r',
      perm: { permType: PermType.READ, key: b('a/'), rangeEnd: b('a0') },
    });
    expect(s.permitted('u', 'read', b('a/1'))).toBe(true);
    expect(s.permitted('u', 'write', b('a/1'))).toBe(false);
    // granting the same key range again replaces its type
    s.apply({
      type: 'roleGrantPermission',
      name: 'r',
      perm: { permType: PermType.READWRITE, key: b('a/'), rangeEnd: b('a0') },
    });
    expect(s.role('r')?.permissions).toHaveLength(1);
    expect(s.permitted('u', 'write', b('a/1'))).toBe(true);
    s.apply({ type: 'roleRevokePermission', role: 'r', key: b('a/'), rangeEnd: b('a0') });
    expect(s.permitted('u', 'read', b('a/1'))).toBe(false);
    s.apply({ type: 'roleDelete', role: 'r' });
    expect(s.user('u')?.roles).toEqual([]);
    expect(s.permitted('nobody', 'read', b('a/1'))).toBe(false);
  });

  test('a token checked before the user changed is refused at apply', () => {
    const s = new AuthStore();
    s.apply({ type: 'userAdd', name: 'root', passwordHash: HASH });
    s.apply({ type: 'userGrantRole', user: 'root', role: 'root' });
    s.apply({ type: 'authEnable' });
    const checkedAt = s.revision;
    expect(
      s.apply({ type: 'authenticate', user: 'root', token: 't', checkedRevision: checkedAt, issuedAtMs: 1 })
        .ok,
    ).toBe(true);
    s.apply({ type: 'userChangePassword', name: 'root', passwordHash: HASH });
    expect(
      codeOf(
        s.apply({
          type: 'authenticate',
          user: 'root',
          token: 't',
          checkedRevision: checkedAt,
          issuedAtMs: 1,
        }),
      ),
    ).toBe(ErrorCode.AUTH_FAILED);
  });

  test('serialize and replace give back the same state; commands survive their codec', () => {
    const s = new AuthStore();
    const cmds = [
      { type: 'userAdd', name: 'root', passwordHash: HASH },
      { type: 'userGrantRole', user: 'root', role: 'root' },
      { type: 'roleAdd', name: 'r' },
      {
        type: 'roleGrantPermission',
        name: 'r',
        perm: { permType: PermType.WRITE, key: b('k'), rangeEnd: new Uint8Array([0]) },
      },
      { type: 'authEnable' },
    ] as const;
    for (const c of cmds) expect(s.apply(decodeAuthCommand(encodeAuthCommand(c))).ok).toBe(true);
    const copy = AuthStore.from(s.serialize());
    expect(copy.enabled).toBe(true);
    expect(copy.revision).toBe(s.revision);
    expect(copy.userNames()).toEqual(['root']);
    expect(copy.permitted('root', 'write', b('anything'))).toBe(true);
    expect(copy.role('r')?.permissions[0]?.rangeEnd).toEqual(new Uint8Array([0]));
    expect(copy.serialize()).toEqual(s.serialize());
  });

  test('passwords are stored salted: two hashes of one password differ, both verify', async () => {
    const [h1, h2] = await Promise.all([hashPassword('pw'), hashPassword('pw')]);
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain('pw$');
    expect(await verifyPassword('pw', h1)).toBe(true);
    expect(await verifyPassword('pw', h2)).toBe(true);
    expect(await verifyPassword('px', h1)).toBe(false);
  });
});
