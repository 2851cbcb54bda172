/**
 * Proves the SDK's two-phase-commit helpers against a real three-member cluster: a transfer
 * whose two participants vote YES commits and each commit callback runs once before its ack;
 * one NO aborts and both run abort; votes are idempotent and a changed vote is refused; a
 * participant whose process state is discarded after voting (or mid-commit) recovers at
 * start-up on a new Client, applies each decision once and acks; awaitDecision resolves
 * across the SIGKILL of the member it watches from; the deadline aborts a transaction a
 * participant never voted in. Callbacks record their calls, and the records read back from
 * the cluster are the judge.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client } from '../../src/client/client.js';
import type { DecisionWatch } from '../../src/client/coordinator-watch.js';
import { ClientError, ErrorCode } from '../../src/client/errors.js';
import type { ParticipantHandlers, PrepareOutcome } from '../../src/client/participant.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { restartAndWait } from '../support/restart.js';

let cluster: TestCluster;
let client: Client;

beforeAll(async () => {
  cluster = await TestCluster.start();
  // Generous: a loaded machine elects slowly.
  await cluster.leaderName(60_000);
  client = new Client({ endpoints: cluster.endpoints(), deadlineMs: 8000 });
  await eventually(() => client.coordinator.list({ limit: 1 }), 30_000);
}, 120_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

/** Callbacks that record every call; prepare answers what `decide` says. */
function recorder(
  decide: (txnId: string, payload: Readonly<Record<string, string>>) => PrepareOutcome = () => 'YES',
  onCommit: (txnId: string) => void = () => undefined,
) {
  const calls = { prepare: [] as string[], commit: [] as string[], abort: [] as string[] };
  const payloads: Record<string, string>[] = [];
  const handlers: ParticipantHandlers = {
    prepare: (txnId, payload) => {
      calls.prepare.push(txnId);
      payloads.push({ ...payload });
      return decide(txnId, payload);
    },
    commit: (txnId) => {
      onCommit(txnId);
      calls.commit.push(txnId);
    },
    abort: (txnId) => {
      calls.abort.push(txnId);
    },
  };
  return { calls, payloads, handlers };
}

describe('two participants', () => {
  it('commits a transfer when both vote YES: each commit runs once, then both ack', async () => {
    const metadata = { from: 'alice', to: 'bob', amountCents: '500' };
    const begun = await client.coordinator.begin('xfer-commit', ['wallet', 'ledger'], {
      timeoutMs: 60_000,
      metadata,
    });
    expect(begun.created).toBe(true);
    expect(begun.record).toMatchObject({ state: 'PREPARING', participants: ['ledger', 'wallet'], metadata });
    const ledger = recorder();
    const wallet = recorder();
    const [l, w] = await Promise.all([
      client.coordinator.participant('ledger', ledger.handlers).run('xfer-commit'),
      client.coordinator.participant('wallet', wallet.handlers).run('xfer-commit'),
    ]);
    expect([l.decision, w.decision]).toEqual(['COMMIT', 'COMMIT']);
    expect([l.applied, w.applied]).toEqual([true, true]);
    for (const p of [ledger, wallet]) {
      expect(p.calls).toEqual({ prepare: ['xfer-commit'], commit: ['xfer-commit'], abort: [] });
      expect(p.payloads).toEqual([metadata]);
    }
    const record = await client.coordinator.get('xfer-commit');
    expect(record).toMatchObject({
      state: 'COMMIT',
      votes: { ledger: 'YES', wallet: 'YES' },
      acks: ['ledger', 'wallet'],
      reason: '',
    });
    expect(record.finishedUnixMs).toBeGreaterThan(0);
    expect(record.decidedAtRevision).toBeGreaterThan(0);

    // Everything again: a retried begin finds the record, a repeated run applies nothing.
    expect(
      (await client.coordinator.begin('xfer-commit', ['ledger', 'wallet'], { timeoutMs: 60_000 })).created,
    ).toBe(false);
    const again = await client.coordinator.participant('ledger', ledger.handlers).run('xfer-commit');
    expect(again).toMatchObject({ decision: 'COMMIT', applied: false, vote: 'YES' });
    expect(ledger.calls.commit).toEqual(['xfer-commit']);
  });

  it('aborts when one votes NO, and both run abort', async () => {
    await client.coordinator.begin('xfer-abort', ['ledger', 'wallet'], { timeoutMs: 60_000 });
    const ledger = recorder();
    const wallet = recorder(() => {
      throw new Error('insufficient funds');
    });
    const [l, w] = await Promise.all([
      client.coordinator.participant('ledger', ledger.handlers).run('xfer-abort'),
      client.coordinator.participant('wallet', wallet.handlers).run('xfer-abort'),
    ]);
    expect([l.decision, w.decision]).toEqual(['ABORT', 'ABORT']);
    expect(w.vote).toBe('NO');
    for (const p of [ledger, wallet]) {
      expect(p.calls.abort).toEqual(['xfer-abort']);
      expect(p.calls.commit).toEqual([]);
    }
    const record = await client.coordinator.get('xfer-abort');
    expect(record).toMatchObject({
      state: 'ABORT',
      reason: 'wallet voted NO: insufficient funds',
      acks: ['ledger', 'wallet'],
    });
  });

  it('takes the same vote twice, refuses a changed one, and refuses an ack before the decision', async () => {
    await client.coordinator.begin('votes', ['a', 'b'], { timeoutMs: 60_000 });
    const a = client.coordinator.participant('a', recorder().handlers);
    expect((await a.vote('votes', 'YES')).votes).toEqual({ a: 'YES' });
    expect((await a.vote('votes', 'YES')).votes).toEqual({ a: 'YES' });
    const changed = await a.vote('votes', 'NO').catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(ClientError);
    expect((changed as ClientError).code).toBe(ErrorCode.TXN_VOTE_CHANGED);
    const early = await a.ack('votes').catch((e: unknown) => e);
    expect((early as ClientError).code).toBe(ErrorCode.TXN_NOT_DECIDED);
    const aborted = await client.coordinator.abort('votes', 'operator');
    expect(aborted).toMatchObject({ state: 'ABORT', reason: 'operator' });
    expect((await a.awaitDecision('votes')).state).toBe('ABORT');
    const outsider = await client.coordinator
      .participant('z', recorder().handlers)
      .run('votes')
      .catch((e: unknown) => e);
    expect((outsider as ClientError).code).toBe(ErrorCode.TXN_NOT_PARTICIPANT);
  });
});

describe('recovery', () => {
  it('a participant restarted with no state recovers its in-doubt transactions, applies each once and acks', async () => {
    const parts = ['ledger-c', 'wallet-c'];
    for (const id of ['crash-1', 'crash-2', 'crash-3', 'crash-4'])
      await client.coordinator.begin(id, parts, { timeoutMs: 120_000 });
    const wallet = client.coordinator.participant('wallet-c', recorder().handlers);

    // The first process: votes in 1 and 2 and dies waiting; in 3 it dies inside commit.
    const first = new Client({ endpoints: cluster.endpoints() });
    const before = recorder(undefined, (txnId) => {
      if (txnId === 'crash-3') throw new Error('process died mid-commit');
    });
    const ledgerA = first.coordinator.participant('ledger-c', before.handlers);
    const waiting = [ledgerA.run('crash-1'), ledgerA.run('crash-2')].map((p) => p.catch((e: unknown) => e));
    await eventually(async () => {
      for (const id of ['crash-1', 'crash-2'])
        expect((await client.coordinator.get(id)).votes['ledger-c']).toBe('YES');
    });
    await wallet.vote('crash-3', 'YES');
    await expect(ledgerA.run('crash-3')).rejects.toThrow('process died mid-commit');
    await first.close();
    for (const r of await Promise.all(waiting)) expect(r).toBeInstanceOf(ClientError);
    expect(before.calls.commit).toEqual([]);

    // While it is down, crash-1 is decided.
    expect((await wallet.run('crash-1')).decision).toBe('COMMIT');

    // The second process: new Client, new Participant, fresh callbacks.
    const second = new Client({ endpoints: cluster.endpoints() });
    try {
      const after = recorder();
      const watchOpened = new Promise<void>((resolve) => {
        const original = second.coordinator.watch.bind(second.coordinator);
        vi.spyOn(second.coordinator, 'watch').mockImplementation((options) => {
          resolve();
          return original(options);
        });
      });
      const recovering = second.coordinator.participant('ledger-c', after.handlers).recover();
      // crash-2 is decided only once recovery is waiting on its decision stream.
      await watchOpened;
      expect((await wallet.run('crash-2')).decision).toBe('COMMIT');
      const result = await recovering;
      expect(result.failed).toEqual([]);
      expect(result.notVoted).toEqual(['crash-4']);
      expect(result.completed.map((r) => r.txnId).sort()).toEqual(['crash-1', 'crash-2', 'crash-3']);
      expect(result.completed.every((r) => r.decision === 'COMMIT' && r.applied)).toBe(true);
      expect(after.calls.prepare).toEqual([]);
      expect(after.calls.abort).toEqual([]);
      expect([...after.calls.commit].sort()).toEqual(['crash-1', 'crash-2', 'crash-3']);
      for (const id of ['crash-1', 'crash-2', 'crash-3'])
        expect((await client.coordinator.get(id)).acks).toContain('ledger-c');
      // Nothing is in doubt any more except the transaction it never voted in.
      const left = await second.coordinator.list({ participant: 'ledger-c', unackedOnly: true });
      expect(left.records.map((r) => r.txnId)).toEqual(['crash-4']);
    } finally {
      await second.close();
      await client.coordinator.abort('crash-4', 'test over');
    }
  }, 60_000);
});

describe('failures', () => {
  it('awaitDecision resolves across the SIGKILL of the member it watches from', async () => {
    const leader = await cluster.leaderName();
    const follower = cluster.topology.members.find((m) => m.name !== leader)!.name;
    const onFollower = new Client({ endpoints: cluster.endpoints([follower, leader]), random: () => 0 });
    const writer = new Client({ endpoints: cluster.endpoints([leader]) });
    try {
      await writer.coordinator.begin('kill-1', ['p', 'q'], { timeoutMs: 120_000 });
      await writer.coordinator.vote('kill-1', 'q', 'YES');
      let resolveWatch: (w: DecisionWatch) => void = () => undefined;
      const opened = new Promise<DecisionWatch>((resolve) => {
        resolveWatch = resolve;
      });
      const decision = onFollower.coordinator
        .participant('p', recorder().handlers)
        .awaitDecision('kill-1', { onWatch: (w) => resolveWatch(w) });
      const watch = await opened;
      await watch.ready();
      expect(onFollower.connection.currentAddress).toBe(cluster.endpoints([follower])[0]);
      await cluster.kill(follower);
      await writer.coordinator.vote('kill-1', 'p', 'YES');
      const record = await decision;
      expect(record).toMatchObject({ txnId: 'kill-1', state: 'COMMIT', votes: { p: 'YES', q: 'YES' } });
      expect(watch.reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await onFollower.close();
      await writer.close();
      await restartAndWait(cluster, follower);
    }
  }, 60_000);

  it('the deadline aborts a transaction a participant never voted in', async () => {
    await client.coordinator.begin('late', ['d1', 'd2'], { timeoutMs: 1500 });
    const d1 = recorder();
    const d2 = recorder();
    const first = await client.coordinator.participant('d1', d1.handlers).run('late');
    expect(first).toMatchObject({ decision: 'ABORT', vote: 'YES', applied: true });
    expect(first.record.reason).toBe('deadline');
    expect(d1.calls).toEqual({ prepare: ['late'], commit: [], abort: ['late'] });
    // The participant that never voted still learns the decision, without preparing.
    const second = await client.coordinator.participant('d2', d2.handlers).run('late');
    expect(second).toMatchObject({ decision: 'ABORT', vote: undefined, applied: true });
    expect(d2.calls).toEqual({ prepare: [], commit: [], abort: ['late'] });
    const record = await client.coordinator.get('late');
    expect(record).toMatchObject({
      state: 'ABORT',
      reason: 'deadline',
      votes: { d1: 'YES' },
      acks: ['d1', 'd2'],
    });
  });
});
