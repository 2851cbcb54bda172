/**
 * The sequential specification of one key: a register that is absent (null) or holds a
 * string. A search may also start from ANY_STATE (nothing known yet): the first observation
 * fixes it, which lets a window of a history be checked without its prefix.
 */
import type { KvOp, KvResult } from './history.js';

/** A state the key was in before anything was observed (used to check a window on its own). */
export const ANY_STATE: unique symbol = Symbol('any');

/** The key's state: absent (null), a value, or not known yet. */
export type KeyState = string | null | typeof ANY_STATE;

/**
 * The states the key can be in after `op` ran in `state` and answered `result`; empty when
 * that answer is impossible there. With result undefined (outcome unknown) any answer is
 * allowed, so every possible effect is returned.
 */
export function stepKey(state: KeyState, op: KvOp, result: KvResult | undefined): KeyState[] {
  switch (op.kind) {
    case 'put':
      return [op.value];
    case 'get': {
      if (result === undefined) return [state];
      if (result.kind !== 'get') return [];
      if (state === ANY_STATE) return [result.value];
      return state === result.value ? [state] : [];
    }
    case 'delete': {
      if (result === undefined || state === ANY_STATE) return [null];
      if (result.kind !== 'delete') return [];
      return result.deleted === (state === null ? 0 : 1) ? [null] : [];
    }
    case 'cas': {
      if (state === ANY_STATE) {
        if (result === undefined) return [op.value, ANY_STATE];
        if (result.kind !== 'cas') return [];
        return result.succeeded ? [op.value] : [ANY_STATE];
      }
      const matches = state === op.expected;
      if (result === undefined) return [matches ? op.value : state];
      if (result.kind !== 'cas' || result.succeeded !== matches) return [];
      return [matches ? op.value : state];
    }
  }
}

/** A string that identifies a state, for the search's cache. */
export function stateKey(s: KeyState): string {
  if (s === ANY_STATE) return '\u0001';
  if (s === null) return '\u0000';
  return `=${s}`;
}

/** A readable form of a state, for reports. */
export function showState(s: KeyState): string {
  if (s === ANY_STATE) return '<any>';
  return s === null ? 'nil' : JSON.stringify(s);
}
