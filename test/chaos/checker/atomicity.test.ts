/**
 * Proves the transaction-atomicity checker accepts a hand-written good history (a commit with
 * all YES, an abort after a NO, an explicit abort) and rejects each bad one with a message
 * naming the violation: a decision seen twice differently, a decision that changed by the end,
 * a COMMIT without every YES, a lost acknowledged vote or ack, a commit after an acknowledged
 * abort, a participant that applied another decision, and a begun record that vanished.
 */
import { describe, expect, it } from 'vitest';
import { checkAtomicity, type TxnHistory, type TxnObservation, type TxnSnapshot } from './atomicity.js';

const snap = (
  txnId: string,
  state: TxnSnapshot['state'],
  votes: Record<string, 'YES' | 'NO'>,
  acks: string[] = [],
  decidedAtRevision = state === 'PREPARING' ? 0 : 100,
): TxnSnapshot => ({ txnId, state, participants: ['p1', 'p2'], votes, acks, decidedAtRevision });
const seen = (s: TxnSnapshot, source = 'p1', atMs = 1): TxnObservation => ({ ...s, source, atMs });

const good: TxnHistory = {
  begun: ['t1', 't2', 't3'],
  ackedVotes: [
    { txnId: 't1', participant: 'p1', vote: 'YES' },
    { txnId: 't1', participant: 'p2', vote: 'YES' },
    { txnId: 't2', participant: 'p1', vote: 'NO' },
  ],
  ackedAcks: [{ txnId: 't1', participant: 'p1' }],
  aborts: [{ txnId: 't3', outcome: 'aborted' }],
  applied: [
    { txnId: 't1', participant: 'p1', decision: 'COMMIT' },
    { txnId: 't2', participant: 'p2', decision: 'ABORT' },
  ],
  observations: [
    seen(snap('t1', 'PREPARING', { p1: 'YES' })),
    seen(snap('t1', 'COMMIT', { p1: 'YES', p2: 'YES' }), 'p2', 2),
    seen(snap('t1', 'COMMIT', { p1: 'YES', p2: 'YES' }, ['p1']), 'p1', 3),
    seen(snap('t2', 'ABORT', { p1: 'NO' }, [], 101), 'watch', 4),
  ],
  final: [
    snap('t1', 'COMMIT', { p1: 'YES', p2: 'YES' }, ['p1']),
    snap('t2', 'ABORT', { p1: 'NO' }, [], 101),
    snap('t3', 'ABORT', {}, [], 102),
  ],
};

const violations = (h: Partial<TxnHistory>): string =>
  checkAtomicity({ ...good, ...h }).violations.join('\n');

describe('atomicity checker', () => {
  it('accepts a good history', () => {
    const r = checkAtomicity(good);
    expect(r.violations).toEqual([]);
    expect(r.summary).toContain('3 txns (1 commit, 2 abort, 0 undecided)');
  });

  it('rejects a transaction decided twice', () => {
    const obs = [...good.observations, seen(snap('t1', 'ABORT', { p1: 'YES' }, [], 100), 'watch', 5)];
    expect(violations({ observations: obs })).toContain('t1 decided twice: COMMIT@100');
  });

  it('rejects a decision that changed by the end', () => {
    const final = [snap('t1', 'ABORT', { p1: 'YES', p2: 'YES' }, ['p1']), ...good.final.slice(1)];
    expect(violations({ final })).toContain('t1 changed after its decision: COMMIT@100');
  });

  it('rejects a COMMIT without every YES', () => {
    const obs = [...good.observations, seen(snap('t2', 'COMMIT', { p1: 'YES' }, [], 101), 'p2', 6)];
    expect(violations({ observations: obs })).toContain(
      't2 seen COMMIT by p2 at 6 ms although p2 voted nothing',
    );
  });

  it('rejects a lost acknowledged vote', () => {
    const votes = [...good.ackedVotes, { txnId: 't3', participant: 'p2', vote: 'YES' as const }];
    expect(violations({ ackedVotes: votes })).toContain('acknowledged vote lost: p2 voted YES in t3');
  });

  it('rejects a lost acknowledged ack', () => {
    const acks = [...good.ackedAcks, { txnId: 't2', participant: 'p2' }];
    expect(violations({ ackedAcks: acks })).toContain('acknowledged ack lost: p2 acked t2');
  });

  it('rejects a commit after an acknowledged abort', () => {
    expect(violations({ aborts: [{ txnId: 't1', outcome: 'aborted' }] })).toContain(
      't1: an abort answered aborted, the final record is COMMIT',
    );
  });

  it('rejects a participant that applied a decision the record does not hold', () => {
    const applied = [{ txnId: 't2', participant: 'p1', decision: 'COMMIT' as const }];
    expect(violations({ applied })).toContain('p1 applied COMMIT to t2, but the record is ABORT');
  });

  it('rejects a begun transaction whose record is gone', () => {
    expect(violations({ final: good.final.slice(0, 2), aborts: [] })).toContain(
      't3 was begun but its record is gone',
    );
  });
});
