/**
 * Proves the client reads every error the server can send back into the code it was sent
 * for: each entry of the one wire table (common/wire-errors.ts) round-trips through the
 * server's toGrpcError and the client's toClientError, codes sharing a wire form come back
 * as the first one listed, and transport failures are told apart by whether the request
 * could have been sent.
 */
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { toGrpcError } from '../../src/api/errors.js';
import { ClientError, codeOf, toClientError } from '../../src/client/errors.js';
import { shouldRetry } from '../../src/client/retry.js';
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import { WIRE_ERRORS } from '../../src/common/wire-errors.js';

describe('the wire table read backwards', () => {
  it('recovers every code the server sends, or the first code of a shared wire form', () => {
    const firstByWire = new Map<string, string>();
    for (const [code, wire] of Object.entries(WIRE_ERRORS)) {
      const key = `${wire.status}|${wire.message}`;
      if (!firstByWire.has(key)) firstByWire.set(key, code);
      const sent = toGrpcError(new CairnError(code as ErrorCode, 'ignored: the table decides the text'));
      expect(sent.code).toBe(wire.status);
      const got = toClientError(sent);
      expect(got.code).toBe(firstByWire.get(key));
      expect(got.message).toBe(wire.message);
    }
    expect(Object.keys(WIRE_ERRORS).length).toBeGreaterThan(40);
    expect(toClientError(toGrpcError(new CairnError(ErrorCode.PROPOSAL_DROPPED, 'x'))).code).toBe(
      ErrorCode.NO_LEADER,
    );
  });

  it('keeps an INVALID_ARGUMENT message the table does not know', () => {
    const got = toClientError(
      toGrpcError(new CairnError(ErrorCode.INVALID_ARGUMENT, 'ttl must be positive')),
    );
    expect(got.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(got.message).toBe('ttl must be positive');
    expect(shouldRetry(got, true)).toBe(false);
  });

  it('tells a connection never made from one lost mid-call', () => {
    expect(codeOf(Status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED')).toBe(
      ErrorCode.CONNECTION_FAILED,
    );
    expect(codeOf(Status.UNAVAILABLE, 'Connection dropped')).toBe(ErrorCode.CONNECTION_LOST);
    const refused = toClientError({ code: Status.UNAVAILABLE, details: 'No connection established' });
    const dropped = toClientError({ code: Status.UNAVAILABLE, details: 'Connection dropped' });
    expect(refused.retriable).toBe(true);
    expect(refused.outcomeUnknown).toBe(false);
    expect(dropped.retriable).toBe(false);
    expect(dropped.outcomeUnknown).toBe(true);
  });
});

describe('which failures are retried', () => {
  const err = (code: ErrorCode, outcomeUnknown: boolean) =>
    new ClientError(code, code, Status.UNAVAILABLE, outcomeUnknown);

  it('retries what certainly did not happen, writes included', () => {
    for (const code of [
      ErrorCode.NOT_LEADER,
      ErrorCode.NO_LEADER,
      ErrorCode.CONNECTION_FAILED,
      ErrorCode.OVERLOADED,
    ]) {
      expect(shouldRetry(err(code, false), false)).toBe(true);
    }
  });

  it('retries an unknown outcome only for idempotent calls, and never a cancelled one', () => {
    for (const code of [ErrorCode.TIMEOUT, ErrorCode.CONNECTION_LOST, ErrorCode.STOPPED]) {
      expect(shouldRetry(err(code, true), false)).toBe(false);
      expect(shouldRetry(err(code, true), true)).toBe(true);
    }
    expect(shouldRetry(err(ErrorCode.CANCELLED, true), true)).toBe(false);
    expect(shouldRetry(err(ErrorCode.LEASE_NOT_FOUND, false), true)).toBe(false);
  });
});
