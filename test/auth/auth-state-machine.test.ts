/**
 * Proves the auth state is replicated state like any other: Auth entries applied by the
 * key-value state machine change the auth store, what it persists rebuilds the same store at
 * restart (kvWritesToOps then recoverKvStateMachine), and a snapshot carries it to a fresh
 * member (also alongside alarms); and that a write proposed on behalf of a user
 * (EntryKind.MvccAs) is applied only if that user holds the permissions at apply time, by
 * driving KvStateMachine directly.
 */
import { describe, expect, test } from 'vitest';
import { type AuthCommand, encodeAuthCommand } from '../../src/auth/commands.js';
import { PermType } from '../../src/auth/types.js';
import { ErrorCode } from '../../src/common/errors.js';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { type Command, encodeCommand, MvccStore } from '../../src/mvcc/index.js';
import { AlarmAction, AlarmType, encodeAlarmRequest } from '../../src/node/alarms.js';
import { commandAccess, encodeCommandAs } from '../../src/node/command-access.js';
import { EntryKind } from '../../src/node/envelope.js';
import { KvStateMachine, kvWritesToOps, recoverKvStateMachine } from '../../src/node/kv-state-machine.js';

const HASH = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';
const b = (s: string) => new TextEncoder().encode(s);

function applyAll(sm: KvStateMachine, cmds: readonly AuthCommand[], from = 1): number {
  let index = from;
  for (const c of cmds) {
    const r = sm.apply(
      { index, term: 1 },
      { kind: EntryKind.Auth, proposer: 0, seq: 0, payload: encodeAuthCommand(c) },
    );
    expect(r.ok, c.type).toBe(true);
    index++;
  }
  return index;
}

const SETUP: AuthCommand[] = [
  { type: 'userAdd', name: 'root', passwordHash: HASH },
  { type: 'userGrantRole', user: 'root', role: 'root' },
  { type: 'roleAdd', name: 'reader' },
  {
    type: 'roleGrantPermission',
    name: 'reader',
    perm: { permType: PermType.READ, key: b('a/'), rangeEnd: b('a0') },
  },
  { type: 'userAdd', name: 'alice', passwordHash: HASH },
  { type: 'userGrantRole', user: 'alice', role: 'reader' },
  { type: 'authEnable' },
];

describe('auth in the state machine', () => {
  test('applied entries persist and a restart rebuilds the same auth store', async () => {
    const sm = new KvStateMachine(new MvccStore(), 0);
    const seen: string[] = [];
    sm.authListener = { applied: (c, ok) => seen.push(`${c.type}:${ok}`), restored: () => {} };
    const next = applyAll(sm, SETUP);
    expect(seen).toHaveLength(SETUP.length);
    const writes = sm.takeWrites();
    expect(writes?.auth).toBeDefined();
    const ops = kvWritesToOps(writes);
    const recovered = await recoverKvStateMachine({ appliedIndex: next - 1, stateMachine: [ops.puts] });
    expect(recovered.auth.enabled).toBe(true);
    expect(recovered.auth.userNames()).toEqual(['alice', 'root']);
    expect(recovered.auth.permitted('alice', 'read', b('a/x'))).toBe(true);
    expect(recovered.auth.permitted('alice', 'write', b('a/x'))).toBe(false);
    // nothing changed since: no auth record in the next batch
    expect(sm.takeWrites()?.auth).toBeUndefined();
  });

  test('a refused auth entry changes nothing and answers the store error', () => {
    const sm = new KvStateMachine(new MvccStore(), 0);
    const r = sm.apply(
      { index: 1, term: 1 },
      { kind: EntryKind.Auth, proposer: 0, seq: 0, payload: encodeAuthCommand({ type: 'authEnable' }) },
    );
    expect(r.ok).toBe(false);
    expect(sm.auth.enabled).toBe(false);
  });

  test('a snapshot carries the auth state (and the alarms beside it) to a fresh member', () => {
    const sm = new KvStateMachine(new MvccStore(), 0);
    let next = applyAll(sm, SETUP);
    sm.apply(
      { index: next, term: 1 },
      {
        kind: EntryKind.Alarm,
        proposer: 0,
        seq: 0,
        payload: encodeAlarmRequest({ action: AlarmAction.ACTIVATE, memberId: 7, alarm: AlarmType.NOSPACE }),
      },
    );
    next++;
    const snap = collectBytes(sm.snapshot());
    const fresh = new KvStateMachine(new MvccStore(), 0);
    let restored = 0;
    fresh.authListener = { applied: () => {}, restored: () => restored++ };
    fresh.restore(next - 1, snap);
    expect(restored).toBe(1);
    expect(fresh.auth.enabled).toBe(true);
    expect(fresh.auth.serialize()).toEqual(sm.auth.serialize());
    expect(fresh.alarms.has(AlarmType.NOSPACE)).toBe(true);
    expect(fresh.takeWrites()?.auth).toBeDefined();
  });

  test('a write made on behalf of a user is checked again at apply, against the auth state of that entry', () => {
    const sm = new KvStateMachine(new MvccStore(), 0);
    let index = applyAll(sm, SETUP);
    sm.apply(
      { index: index++, term: 1 },
      {
        kind: EntryKind.Auth,
        proposer: 0,
        seq: 0,
        payload: encodeAuthCommand({
          type: 'roleGrantPermission',
          name: 'reader',
          perm: { permType: PermType.READWRITE, key: b('a/'), rangeEnd: b('a0') },
        }),
      },
    );
    const as = (user: string, c: Command) =>
      sm.apply(
        { index: index++, term: 1 },
        { kind: EntryKind.MvccAs, proposer: 0, seq: 0, payload: encodeCommandAs(user, encodeCommand(c)) },
      );
    expect(as('alice', { type: 'put', request: { key: b('a/1'), value: b('v') } }).ok).toBe(true);
    const outside = as('alice', { type: 'put', request: { key: b('b'), value: b('v') } });
    expect(outside.ok ? undefined : outside.error.code).toBe(ErrorCode.PERMISSION_DENIED);
    // revoked between the API's check and the apply: the entry is refused
    sm.apply(
      { index: index++, term: 1 },
      {
        kind: EntryKind.Auth,
        proposer: 0,
        seq: 0,
        payload: encodeAuthCommand({
          type: 'roleRevokePermission',
          role: 'reader',
          key: b('a/'),
          rangeEnd: b('a0'),
        }),
      },
    );
    const late = as('alice', { type: 'put', request: { key: b('a/2'), value: b('v') } });
    expect(late.ok ? undefined : late.error.code).toBe(ErrorCode.PERMISSION_DENIED);
    expect(sm.store.range({ key: b('a/2') }).kvs).toHaveLength(0);
    // root may write anywhere
    expect(as('root', { type: 'put', request: { key: b('z'), value: b('v') } }).ok).toBe(true);
  });

  test('a Txn needs read on its compares and what both branches need, nested Txns included', () => {
    const needed = commandAccess(
      {
        type: 'txn',
        request: {
          compare: [{ key: b('c'), target: 0, result: 0, version: 0 } as never],
          success: [{ requestPut: { key: b('p'), value: b('v'), prevKv: true } }],
          failure: [{ requestTxn: { success: [{ requestDeleteRange: { key: b('d'), rangeEnd: b('e') } }] } }],
        },
      },
      () => [],
    );
    expect(needed.map((n) => `${n.access}:${new TextDecoder().decode(n.key)}`)).toEqual([
      'read:c',
      'write:p',
      'read:p',
      'write:d',
    ]);
  });
});
