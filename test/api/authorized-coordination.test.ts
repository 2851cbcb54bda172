/**
 * Proves the coordination recipes' permission wrapper treats work outside any caller's
 * context as a caller with no user: allowed while auth is off (guardService enters no context
 * for such a caller, so auth-off traffic keeps Node's async hooks off), refused with
 * USER_EMPTY once auth is on, for ranges, Txns, waits and watches alike; and that a caller
 * carried in callerContext is checked against its own permissions. Also that the gate computes
 * nothing while auth is off: a put with a lease does not even list the lease's keys.
 */
import { describe, expect, test } from 'vitest';
import { AuthGate, callerContext } from '../../src/api/auth-gate.js';
import { authorizedCoordination } from '../../src/api/authorized-coordination.js';
import type { AuthStore } from '../../src/auth/auth-store.js';
import { isCairnError } from '../../src/common/errors.js';
import type { CoordinationKv, WatchBatch } from '../../src/coordination/ports.js';
import type { MvccStore, RangeResponse, TxnResponse } from '../../src/mvcc/index.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** An auth store with auth on or off and one user, alice, who may read and write under "a/". */
function authStore(state: { enabled: boolean }): AuthStore {
  return {
    get enabled() {
      return state.enabled;
    },
    permitted: (user: string, _access: string, key: Uint8Array) =>
      user === 'alice' && new TextDecoder().decode(key).startsWith('a/'),
    isAdmin: () => false,
  } as unknown as AuthStore;
}

/** An inner kv that records what reached it. */
function innerKv(reached: string[]): CoordinationKv {
  return {
    range: async () => {
      reached.push('range');
      return {} as RangeResponse;
    },
    txn: async () => {
      reached.push('txn');
      return {} as TxnResponse;
    },
    waitDelete: async () => {
      reached.push('waitDelete');
      return 1;
    },
    watch: async function* (): AsyncGenerator<WatchBatch> {
      reached.push('watch');
      yield* [];
    },
  };
}

/** Every operation on key `k`, each answering 'ok' or the error code it failed with. */
async function everyOperation(kv: CoordinationKv, k: string): Promise<string[]> {
  const key = enc(k);
  const outcome = async (op: () => Promise<unknown>): Promise<string> => {
    try {
      await op();
      return 'ok';
    } catch (err) {
      return isCairnError(err) ? err.code : String(err);
    }
  };
  const signal = new AbortController().signal;
  return Promise.all([
    outcome(() => kv.range({ key, rangeEnd: new Uint8Array(0) } as never)),
    outcome(() => kv.txn({ success: [{ requestPut: { key, value: enc('v') } }] } as never)),
    outcome(() => kv.waitDelete(key, 1, signal)),
    outcome(async () => {
      for await (const _ of kv.watch({ key, rangeEnd: new Uint8Array(0) }, 1, signal)) {
        // drain
      }
    }),
  ]);
}

describe('authorizedCoordination', () => {
  const setup = (enabled: boolean) => {
    const state = { enabled };
    const reached: string[] = [];
    const gate = new AuthGate(() => authStore(state), { clientCertAuth: false });
    const kv = authorizedCoordination(
      innerKv(reached),
      gate,
      () => ({ keysOfLease: () => [] }) as unknown as MvccStore,
    );
    return { state, reached, kv };
  };

  test('outside any context, with auth off, every operation reaches the store', async () => {
    const { kv, reached } = setup(false);
    expect(callerContext.getStore()).toBeUndefined();
    expect(await everyOperation(kv, 'x/1')).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(reached.sort()).toEqual(['range', 'txn', 'waitDelete', 'watch']);
  });

  test('outside any context, once auth is on, every operation is refused as a caller with no user', async () => {
    const { kv, reached, state } = setup(false);
    state.enabled = true;
    expect(await everyOperation(kv, 'a/1')).toEqual(['USER_EMPTY', 'USER_EMPTY', 'USER_EMPTY', 'USER_EMPTY']);
    expect(reached).toEqual([]);
  });

  test('a carried caller is checked against its own permissions', async () => {
    const { kv, reached } = setup(true);
    const allowed = await callerContext.run({ user: 'alice' }, () => everyOperation(kv, 'a/1'));
    expect(allowed).toEqual(['ok', 'ok', 'ok', 'ok']);
    const denied = await callerContext.run({ user: 'alice' }, () => everyOperation(kv, 'b/1'));
    expect(denied).toEqual([
      'PERMISSION_DENIED',
      'PERMISSION_DENIED',
      'PERMISSION_DENIED',
      'PERMISSION_DENIED',
    ]);
    expect(reached.length).toBe(4);
  });

  test("with auth off the gate lists no lease's keys; with auth on it checks every one", () => {
    const state = { enabled: false };
    const gate = new AuthGate(() => authStore(state), { clientCertAuth: false });
    let listed = 0;
    const keysOfLease = () => {
      listed++;
      return [enc('a/held'), enc('b/held')];
    };
    const put = { key: enc('a/1'), value: enc('v'), lease: 7 } as never;
    const txn = { success: [{ requestPut: put }] } as never;
    gate.checkPut({ user: 'alice' }, put, keysOfLease);
    gate.checkTxn({ user: 'alice' }, txn, keysOfLease);
    expect(listed).toBe(0);
    state.enabled = true;
    // alice may write a/ but not b/, which the lease also holds.
    expect(() => gate.checkPut({ user: 'alice' }, put, keysOfLease)).toThrow('permission denied');
    expect(() => gate.checkTxn({ user: 'alice' }, txn, keysOfLease)).toThrow('permission denied');
    expect(listed).toBe(2);
  });
});
