/** Invariant checks: a failed assertion is a bug, so it throws an AssertionError that stops the process. */

/** Thrown when an invariant does not hold; never caught by operating-error handlers. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/** Asserts an invariant; the message is built lazily so hot paths pay nothing when it holds. */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantViolation(typeof message === 'function' ? message() : message);
  }
}

/** Marks a branch that the types say cannot happen (exhaustive switches). */
export function unreachable(value: never, what: string): never {
  throw new InvariantViolation(`unreachable: unexpected ${what}: ${String(value)}`);
}
