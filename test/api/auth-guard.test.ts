/**
 * Proves guardService runs a handler inside callerContext with the caller the gate resolved
 * when it has a user, and a caller with no user outside any context (so auth-off traffic never
 * turns Node's async hooks on), unless a context is active, which it then replaces; that a KV
 * write made by such a handler is proposed for the caller's user either way (commandEntry:
 * MvccAs with a user, Mvcc without); and that the rule still refuses a caller. Unary and
 * streaming handlers, called as grpc-js calls them.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, test } from 'vitest';
import { type AuthGate, type Caller, callerContext, commandEntry } from '../../src/api/auth-gate.js';
import { guardService } from '../../src/api/auth-guard.js';
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import { EntryKind } from '../../src/node/envelope.js';

const method = (requestStream: boolean) =>
  ({ path: '/t.T/M', requestStream, responseStream: false }) as unknown as grpc.MethodDefinition<
    unknown,
    unknown
  >;
const call = { metadata: new grpc.Metadata(), request: {}, emit: () => true };
const put = { type: 'put', request: { key: new Uint8Array([1]), value: new Uint8Array([2]) } } as const;

type Seen = { store: Caller | undefined; kind: EntryKind | undefined };

function guarded(requestStream: boolean, user: string | undefined, seen: Seen) {
  const gate = { callerOf: (): Caller => ({ user }) } as unknown as AuthGate;
  const impl = {
    M: () => {
      seen.store = callerContext.getStore();
      seen.kind = commandEntry(put).kind;
    },
  };
  return guardService({ M: method(requestStream) }, impl, gate, {}, () => {}).M as (...a: unknown[]) => void;
}

const fresh = (): Seen => ({ store: { user: 'sentinel' }, kind: undefined });

describe('guardService', () => {
  for (const requestStream of [false, true]) {
    const kind = requestStream ? 'streaming' : 'unary';
    test(`${kind}: a caller with a user is carried in callerContext`, () => {
      const seen = fresh();
      guarded(requestStream, 'alice', seen)(call, () => {});
      expect(seen.store).toEqual({ user: 'alice' });
      expect(seen.kind).toBe(EntryKind.MvccAs);
    });

    test(`${kind}: ... and runs a caller with no user outside callerContext, writing as nobody`, () => {
      const seen = fresh();
      guarded(requestStream, undefined, seen)(call, () => {});
      expect(seen.store).toBeUndefined();
      expect(seen.kind).toBe(EntryKind.Mvcc);
    });

    test(`${kind}: ... unless a context is active, which it then replaces`, () => {
      const seen = fresh();
      callerContext.run({ user: 'mallory' }, () => guarded(requestStream, undefined, seen)(call, () => {}));
      expect(seen.store).toEqual({ user: undefined });
      expect(seen.kind).toBe(EntryKind.Mvcc);
    });
  }

  test('the rule refuses a caller with or without a user', () => {
    for (const user of ['alice', undefined]) {
      const gate = { callerOf: (): Caller => ({ user }) } as unknown as AuthGate;
      let ran = false;
      const refuse = () => {
        throw new CairnError(ErrorCode.PERMISSION_DENIED, 'permission denied');
      };
      const impl = {
        M: () => {
          ran = true;
        },
      };
      let error: unknown;
      guardService({ M: method(false) }, impl, gate, {}, refuse).M!(
        call as never,
        ((e: unknown) => {
          error = e;
        }) as never,
      );
      expect((error as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
      expect(ran).toBe(false);
    }
  });
});
