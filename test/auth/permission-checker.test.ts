/**
 * Proves the permission checker follows etcd's range semantics on both sides (single key,
 * [key, end), "\0" from-key, prefixes) and that a request range must lie wholly inside the
 * union of grants of the right type, by checking requests against small grant sets.
 */
import { describe, expect, test } from 'vitest';
import { permits } from '../../src/auth/permission-checker.js';
import { type Permission, PermType } from '../../src/auth/types.js';

const b = (s: string) => new TextEncoder().encode(s);
const ZERO = new Uint8Array([0]);
const perm = (permType: PermType, key: string, rangeEnd = ''): Permission => ({
  permType,
  key: b(key),
  rangeEnd: rangeEnd === '\0' ? ZERO : b(rangeEnd),
});

describe('permission checker', () => {
  test('a single-key grant covers that key only', () => {
    const p = [perm(PermType.READ, 'foo')];
    expect(permits(p, 'read', b('foo'))).toBe(true);
    expect(permits(p, 'read', b('foo0'))).toBe(false);
    expect(permits(p, 'read', b('fo'))).toBe(false);
    expect(permits(p, 'read', b('foo'), b('fop'))).toBe(false);
    // [foo, foo\0) is the key alone
    expect(permits(p, 'read', b('foo'), b('foo\0'))).toBe(true);
  });

  test('a prefix grant covers the prefix and nothing past it', () => {
    const p = [perm(PermType.READWRITE, 'app/', 'app0')];
    expect(permits(p, 'write', b('app/x'))).toBe(true);
    expect(permits(p, 'read', b('app/'), b('app0'))).toBe(true);
    expect(permits(p, 'read', b('app/a'), b('app/b'))).toBe(true);
    expect(permits(p, 'read', b('app/'), b('app1'))).toBe(false);
    expect(permits(p, 'read', b('app'))).toBe(false);
    expect(permits(p, 'read', b('app/'), ZERO)).toBe(false);
  });

  test('a from-key grant covers every key from its key on, including from-key requests', () => {
    const p = [perm(PermType.READ, 'm', '\0')];
    expect(permits(p, 'read', b('zzzz'))).toBe(true);
    expect(permits(p, 'read', b('m'), ZERO)).toBe(true);
    expect(permits(p, 'read', b('n'), ZERO)).toBe(true);
    expect(permits(p, 'read', b('l'), ZERO)).toBe(false);
    expect(permits(p, 'read', b('l'))).toBe(false);
  });

  test('an all-keys grant ("\\0" to "\\0") covers everything', () => {
    const p: Permission[] = [{ permType: PermType.READ, key: ZERO, rangeEnd: ZERO }];
    expect(permits(p, 'read', ZERO, ZERO)).toBe(true);
    expect(permits(p, 'read', b('a'))).toBe(true);
  });

  test('adjacent and overlapping grants together cover a range neither covers alone', () => {
    const p = [perm(PermType.READ, 'a', 'c'), perm(PermType.READ, 'c', 'e'), perm(PermType.READ, 'd', 'g')];
    expect(permits(p, 'read', b('a'), b('g'))).toBe(true);
    expect(permits(p, 'read', b('b'), b('f'))).toBe(true);
    expect(permits(p, 'read', b('a'), b('h'))).toBe(false);
    const gap = [perm(PermType.READ, 'a', 'c'), perm(PermType.READ, 'd', 'g')];
    expect(permits(gap, 'read', b('a'), b('e'))).toBe(false);
    expect(permits(gap, 'read', b('c'))).toBe(false);
  });

  test('the permission type must match the access', () => {
    const p = [perm(PermType.READ, 'r/', 'r0'), perm(PermType.WRITE, 'w/', 'w0')];
    expect(permits(p, 'read', b('r/1'))).toBe(true);
    expect(permits(p, 'write', b('r/1'))).toBe(false);
    expect(permits(p, 'write', b('w/1'))).toBe(true);
    expect(permits(p, 'read', b('w/1'))).toBe(false);
    // a read grant and a write grant do not add up to cover one access
    const split = [perm(PermType.READ, 'a', 'c'), perm(PermType.WRITE, 'c', 'e')];
    expect(permits(split, 'read', b('a'), b('e'))).toBe(false);
  });

  test('no grants permit nothing', () => {
    expect(permits([], 'read', b('x'))).toBe(false);
  });
});
