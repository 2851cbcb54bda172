/**
 * Puts the auth gate in front of a whole gRPC service: every method resolves its caller
 * (an unknown token fails the call at once) and runs its rule on the request before the
 * handler sees it; the handler then runs with a caller that has a user in callerContext, so
 * work it starts (the coordination recipes, a watch stream, the user a KV write is proposed
 * for) is checked against the same caller. A caller with no user runs outside any context:
 * it reads the same there (no context is a caller with no user: see authorizedCoordination),
 * and entering an AsyncLocalStorage turns on Node's async hooks for the whole process, a hook
 * call on every promise and async resource made from then on (2% of a KV-only leader's CPU;
 * 1.6-2.5% of a member's in hook functions alone after a lock row). With auth off every caller
 * has no user, so the hooks stay off.
 */
import type * as grpc from '@grpc/grpc-js';
import { type AuthGate, type Caller, callerContext } from './auth-gate.js';
import { toGrpcError } from './errors.js';

/** A method's check: throws a CairnError (USER_EMPTY, PERMISSION_DENIED...) to refuse. The request is undefined for client streams. */
// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
export type AuthRule = (caller: Caller, request: any) => void;

/** Any caller, authenticated or not (etcd's Status, MemberList, Authenticate). */
export const OPEN: AuthRule = () => {};

type AnyHandler = (...args: unknown[]) => void;

/**
 * Wraps every method of `impl` with `rules[method]` (or `fallback`), from the service
 * definition's streaming flags; a caller with a user runs inside callerContext.
 */
export function guardService(
  def: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
  gate: AuthGate,
  rules: Readonly<Record<string, AuthRule>>,
  fallback: AuthRule,
): grpc.UntypedServiceImplementation {
  const out: Record<string, AnyHandler> = {};
  for (const [method, handler] of Object.entries(impl)) {
    const d = def[method];
    const rule = rules[method] ?? fallback;
    const h = handler as unknown as AnyHandler;
    if (!d) {
      out[method] = h;
      continue;
    }
    // A context already active (hooks on, and inherited) is replaced, never read by mistake.
    const inContext = (caller: Caller): boolean =>
      caller.user !== undefined || callerContext.getStore() !== undefined;
    const admit = (call: { metadata: grpc.Metadata; request?: unknown }): Caller => {
      const caller = gate.callerOf(call as Parameters<AuthGate['callerOf']>[0]);
      rule(caller, d.requestStream ? undefined : call.request);
      return caller;
    };
    if (!d.requestStream && !d.responseStream) {
      out[method] = (call: unknown, cb: unknown) => {
        let caller: Caller;
        try {
          caller = admit(call as { metadata: grpc.Metadata });
        } catch (err) {
          (cb as (e: Error) => void)(toGrpcError(err));
          return;
        }
        if (inContext(caller)) callerContext.run(caller, () => h(call, cb));
        else h(call, cb);
      };
    } else {
      out[method] = (call: unknown) => {
        let caller: Caller;
        try {
          caller = admit(call as { metadata: grpc.Metadata });
        } catch (err) {
          (call as { emit(ev: string, e: Error): void }).emit('error', toGrpcError(err));
          return;
        }
        if (inContext(caller)) callerContext.run(caller, () => h(call));
        else h(call);
      };
    }
  }
  return out as unknown as grpc.UntypedServiceImplementation;
}
