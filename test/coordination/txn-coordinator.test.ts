/**
 * Proves the transaction coordinator's rules over a real MvccStore in process (InProcessKv)
 * with a clock the test sets: COMMIT only on all YES, ABORT on a NO, an explicit Abort or the
 * deadline, with the reason kept; every call idempotent by (txn id, participant); a decision
 * never changes; a deadline abort racing the last YES (both Txns held until both have read,
 * then applied in either order) yields exactly one decision; Ack, retention, List for
 * recovery and the decision stream (one event per transaction, resumable from a revision);
 * and the leader-only scan, driven by a leadership the test switches.
 */
import { describe, expect, test } from 'vitest';
import { CairnError, ErrorCode } from '../../src/common/errors.js';
import type { CoordinationLeadership } from '../../src/coordination/ports.js';
import {
  type TxnCoordinator as Coordinator,
  TxnCoordinator,
} from '../../src/coordination/txn-coordinator.js';
import { TxnLeaderDuties } from '../../src/coordination/txn-leader-duties.js';
import {
  decodeRecord,
  isDecisionVersion,
  type StoredTxn,
  storedFrom,
  txnKey,
} from '../../src/coordination/txn-record.js';
import { EventType, type TxnRequest, type TxnResponse } from '../../src/mvcc/index.js';
import { eventually } from '../support/eventually.js';
import { b, InProcessKv, str } from './support.js';

/** A clock the test moves. */
class Clock {
  constructor(public nowMs = 1_000_000) {}
  readonly read = (): number => this.nowMs;
}

function setup(retentionMs = 60_000): { kv: InProcessKv; clock: Clock; c: Coordinator } {
  const kv = new InProcessKv();
  const clock = new Clock();
  return { kv, clock, c: new TxnCoordinator(kv, { nowMs: clock.read, retentionMs }) };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CairnError) return err.code;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/**
 * Every decision version in the store's history, replayed from revision 1 by a raw watch of
 * every key (decision versions picked by the record rule), up to an end marker written now.
 */
async function decisionHistory(kv: InProcessKv): Promise<{ id: string; state: string; revision: number }[]> {
  const out: { id: string; state: string; revision: number }[] = [];
  const marker = await kv.txn({ success: [{ requestPut: { key: b('end-marker'), value: b('') } }] });
  const controller = new AbortController();
  for await (const batch of kv.watch(
    { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) },
    1,
    controller.signal,
  )) {
    for (const e of batch.events) {
      const t = e.type === EventType.Put ? storedFrom(e.kv) : undefined;
      if (t && isDecisionVersion(t.record))
        out.push({ id: t.record.id, state: t.record.state, revision: batch.revision });
    }
    if (batch.revision >= marker.header.revision) break;
  }
  return out;
}

const begin = (c: Coordinator, txnId: string, participants: string[], timeoutMs = 5_000) =>
  c.begin({ txnId, participants, timeoutMs, metadata: { amount: '12.00' } });

describe('transaction records', () => {
  test('Begin writes a PREPARING record as JSON under /cairn/txn/<id>, its deadline absolute', async () => {
    const { kv, clock, c } = setup();
    const r = await begin(c, 'pay-1', ['ledger', 'wallet'], 3_000);
    expect(r.created).toBe(true);
    const stored = kv.store.range({ key: txnKey('pay-1') }).kvs[0]!;
    expect(str(stored.key)).toBe('/cairn/txn/pay-1');
    const json = JSON.parse(str(stored.value));
    expect(json).toMatchObject({
      id: 'pay-1',
      state: 'PREPARING',
      participants: ['ledger', 'wallet'],
      votes: {},
      deadlineUnixMs: clock.nowMs + 3_000,
      acks: [],
      metadata: { amount: '12.00' },
    });
    expect(r.txn.modRevision).toBe(stored.modRevision);
  });

  test('a retried Begin with the same participants is a no-op; other participants are refused', async () => {
    const { kv, clock, c } = setup();
    const first = await begin(c, 't', ['a', 'b']);
    const revision = kv.store.currentRevision;
    clock.nowMs += 10_000;
    const again = await begin(c, 't', ['b', 'a'], 99_000);
    expect(again.created).toBe(false);
    expect(again.txn.record).toEqual(first.txn.record);
    expect(kv.store.currentRevision).toBe(revision);
    expect(await codeOf(begin(c, 't', ['a', 'c']))).toBe(ErrorCode.TXN_PARTICIPANTS_MISMATCH);
    expect(await codeOf(begin(c, 'u', ['a', 'a']))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(begin(c, 'v', []))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(begin(c, '', ['a']))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(begin(c, 'w', ['a'], 0))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  test('all YES commits; the votes are recorded', async () => {
    const { c } = setup();
    await begin(c, 't', ['a', 'b', 'c']);
    expect((await c.vote('t', 'a', 'YES')).txn.record.state).toBe('PREPARING');
    expect((await c.vote('t', 'c', 'YES')).txn.record.state).toBe('PREPARING');
    const last = await c.vote('t', 'b', 'YES');
    expect(last.txn.record.state).toBe('COMMIT');
    expect(last.txn.record.votes).toEqual({ a: 'YES', b: 'YES', c: 'YES' });
    expect(last.txn.record.reason).toBe('');
  });

  test('one NO aborts at once, with a reason naming the participant and its words', async () => {
    const { c } = setup();
    await begin(c, 't', ['a', 'b', 'c']);
    await c.vote('t', 'a', 'YES');
    const no = await c.vote('t', 'b', 'NO', 'insufficient funds');
    expect(no.txn.record.state).toBe('ABORT');
    expect(no.txn.record.reason).toBe('b voted NO: insufficient funds');
    // c never voted; its late YES answers the decision and changes nothing.
    const late = await c.vote('t', 'c', 'YES');
    expect(late.changed).toBe(false);
    expect(late.txn.record.state).toBe('ABORT');
    expect(late.txn.record.votes).toEqual({ a: 'YES', b: 'NO' });
  });

  test('votes are idempotent per participant; a changed vote and a stranger are refused', async () => {
    const { kv, c } = setup();
    await begin(c, 't', ['a', 'b']);
    await c.vote('t', 'a', 'YES');
    const revision = kv.store.currentRevision;
    const again = await c.vote('t', 'a', 'YES');
    expect(again.changed).toBe(false);
    expect(kv.store.currentRevision).toBe(revision);
    expect(await codeOf(c.vote('t', 'a', 'NO'))).toBe(ErrorCode.TXN_VOTE_CHANGED);
    expect(await codeOf(c.vote('t', 'mallory', 'YES'))).toBe(ErrorCode.TXN_NOT_PARTICIPANT);
    expect(await codeOf(c.vote('nope', 'a', 'YES'))).toBe(ErrorCode.TXN_NOT_FOUND);
    await c.vote('t', 'b', 'YES');
    // After the decision: the same vote answers COMMIT, a changed one is still refused.
    expect((await c.vote('t', 'b', 'YES')).txn.record.state).toBe('COMMIT');
    expect(await codeOf(c.vote('t', 'b', 'NO'))).toBe(ErrorCode.TXN_VOTE_CHANGED);
  });

  test('an explicit Abort keeps its reason; it is a no-op on ABORT and refused on COMMIT', async () => {
    const { c } = setup();
    await begin(c, 't', ['a']);
    const aborted = await c.abort('t', 'customer cancelled');
    expect(aborted.txn.record.state).toBe('ABORT');
    expect(aborted.txn.record.reason).toBe('customer cancelled');
    const again = await c.abort('t', 'other words');
    expect(again.changed).toBe(false);
    expect(again.txn.record.reason).toBe('customer cancelled');
    await begin(c, 'u', ['a']);
    await c.vote('u', 'a', 'YES');
    expect(await codeOf(c.abort('u', 'too late'))).toBe(ErrorCode.TXN_ALREADY_DECIDED);
    expect((await c.get('u')).txn.record.state).toBe('COMMIT');
  });

  test('Ack needs the decision, is idempotent, records the decision revision and finishes the record', async () => {
    const { clock, c } = setup();
    await begin(c, 't', ['a', 'b']);
    expect(await codeOf(c.ack('t', 'a'))).toBe(ErrorCode.TXN_NOT_DECIDED);
    await c.vote('t', 'a', 'YES');
    const decision = await c.vote('t', 'b', 'YES');
    expect(decision.txn.record.decidedAtRevision).toBe(0);
    const a = await c.ack('t', 'a');
    expect(a.txn.record.decidedAtRevision).toBe(decision.txn.modRevision);
    expect(a.txn.record.finishedUnixMs).toBe(0);
    expect((await c.ack('t', 'a')).changed).toBe(false);
    clock.nowMs += 5;
    const b = await c.ack('t', 'b');
    expect(b.txn.record.acks).toEqual(['a', 'b']);
    expect(b.txn.record.finishedUnixMs).toBe(clock.nowMs);
    expect(b.txn.record.decidedAtRevision).toBe(decision.txn.modRevision);
    expect(b.txn.record.state).toBe('COMMIT');
  });

  test('the deadline scan aborts PREPARING records past their deadline and nothing else', async () => {
    const { clock, c } = setup();
    await begin(c, 'early', ['a', 'b'], 1_000);
    await begin(c, 'late', ['a', 'b'], 10_000);
    await begin(c, 'done', ['a'], 1_000);
    await c.vote('done', 'a', 'YES');
    await c.vote('early', 'a', 'YES');
    expect(await c.abortExpired()).toBe(0);
    clock.nowMs += 1_000;
    expect(await c.abortExpired()).toBe(1);
    const early = (await c.get('early')).txn.record;
    expect(early.state).toBe('ABORT');
    expect(early.reason).toBe('deadline');
    expect(early.votes).toEqual({ a: 'YES' });
    expect((await c.get('late')).txn.record.state).toBe('PREPARING');
    expect((await c.get('done')).txn.record.state).toBe('COMMIT');
    // The participant that never voted learns the decision when it votes at last.
    expect((await c.vote('early', 'b', 'YES')).txn.record.state).toBe('ABORT');
    expect(await c.abortExpired()).toBe(0);
  });

  test('a vote that arrives after the deadline aborts the transaction instead of counting', async () => {
    const { clock, c } = setup();
    await begin(c, 'slow', ['a', 'b'], 1_000);
    await c.vote('slow', 'a', 'YES');
    clock.nowMs += 1_000;
    const late = await c.vote('slow', 'b', 'YES');
    expect(late.txn.record.state).toBe('ABORT');
    expect(late.txn.record.reason).toBe('deadline');
    expect(late.txn.record.votes).toEqual({ a: 'YES' });
  });

  test.each([
    ['the last YES first', ['vote', 'deadline'], 'COMMIT'],
    ['the deadline abort first', ['deadline', 'vote'], 'ABORT'],
  ])('a deadline abort racing the last YES yields one decision (%s)', async (_name, order, expected) => {
    const kv = new InProcessKv();
    const clock = new Clock();
    const gate = new HeldTxns(kv);
    const c = new TxnCoordinator(gate, { nowMs: clock.read });
    await begin(c, 't', ['a', 'b'], 1_000);
    await c.vote('t', 'a', 'YES');
    clock.nowMs += 999; // the last vote is read and decided just before the deadline...
    gate.hold = 2;
    const vote = c.vote('t', 'b', 'YES');
    await eventually(async () => expect(gate.held.length).toBe(1), 2_000, 1);
    clock.nowMs += 1_001; // ...and the scan just after it
    const scan = c.abortExpired();
    // Both have read the record at the same mod_revision and proposed their Txn.
    await eventually(async () => expect(gate.held.length).toBe(2), 2_000, 1);
    const tags: string[] = gate.held.map((h) => (h.state === 'COMMIT' ? 'vote' : 'deadline'));
    for (const want of order) gate.release(gate.held[tags.indexOf(want)]!);
    const [voted, aborted] = await Promise.all([vote, scan]);
    const final = (await c.get('t')).txn.record;
    expect(final.state).toBe(expected);
    expect(voted.txn.record.state).toBe(expected);
    expect(aborted).toBe(expected === 'ABORT' ? 1 : 0);
    const history = await decisionHistory(kv);
    expect(history.filter((d) => d.id === 't')).toEqual([
      { id: 't', state: expected, revision: expect.any(Number) },
    ]);
  });

  test('random votes, deadlines and scans, interleaved: one decision per txn, COMMIT only on all YES', async () => {
    const { kv, clock, c } = setup();
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const ids = Array.from({ length: 150 }, (_, i) => `r${i}`);
    const parts = ['p0', 'p1', 'p2', 'p3'];
    await Promise.all(ids.map((id) => begin(c, id, parts.slice(0, 1 + rand(4)), 100 + rand(600))));
    // Rounds of concurrent calls; the clock moves between rounds.
    for (let round = 0; round < 40; round++) {
      const ops: Promise<unknown>[] = [c.abortExpired()];
      for (let i = 0; i < 20; i++) {
        const id = ids[rand(ids.length)]!;
        const k = rand(40);
        if (k === 0) ops.push(c.abort(id, 'operator').catch(() => {}));
        else ops.push(c.vote(id, parts[rand(4)]!, rand(15) === 0 ? 'NO' : 'YES').catch(() => {}));
      }
      await Promise.all(ops);
      clock.nowMs += 20;
    }
    clock.nowMs += 1_000;
    await c.abortExpired();
    const { txns } = await c.list();
    expect(txns.length).toBe(ids.length);
    const history = await decisionHistory(kv);
    // The run exercised every way to a decision.
    const reasons = txns.map((t) => t.record.reason);
    expect(txns.some((t) => t.record.state === 'COMMIT')).toBe(true);
    expect(reasons).toContain('deadline');
    expect(reasons).toContain('operator');
    expect(reasons.some((r) => r.includes('voted NO'))).toBe(true);
    for (const t of txns) {
      const r = t.record;
      expect(r.state).not.toBe('PREPARING');
      if (r.state === 'COMMIT') expect(r.participants.every((p) => r.votes[p] === 'YES')).toBe(true);
      else expect(r.reason).not.toBe('');
      const mine = history.filter((d) => d.id === r.id);
      expect(mine).toEqual([{ id: r.id, state: r.state, revision: t.modRevision }]);
    }
  });

  test('finished records are removed after the retention period; others are kept', async () => {
    const { clock, c } = setup(60_000);
    await begin(c, 'finished', ['a']);
    await c.vote('finished', 'a', 'YES');
    await c.ack('finished', 'a');
    await begin(c, 'unacked', ['a']);
    await c.vote('unacked', 'a', 'NO');
    await begin(c, 'open', ['a'], 3_600_000);
    clock.nowMs += 59_999;
    expect(await c.removeFinished()).toBe(0);
    clock.nowMs += 1;
    expect(await c.removeFinished()).toBe(1);
    expect(await codeOf(c.get('finished'))).toBe(ErrorCode.TXN_NOT_FOUND);
    expect((await c.get('unacked')).txn.record.state).toBe('ABORT');
    expect((await c.get('open')).txn.record.state).toBe('PREPARING');
  });

  test('List filters by state and participant; unacked_only gives a participant its in-doubt records', async () => {
    const { c } = setup();
    await begin(c, 't1', ['a', 'b']);
    await begin(c, 't2', ['a']);
    await begin(c, 't3', ['b']);
    await c.vote('t2', 'a', 'YES');
    await c.vote('t3', 'b', 'NO');
    await begin(c, 't4', ['a']);
    await c.vote('t4', 'a', 'YES');
    await c.ack('t4', 'a');
    const ids = (txns: readonly StoredTxn[]) => txns.map((t) => t.record.id);
    expect(ids((await c.list({ states: ['PREPARING'] })).txns)).toEqual(['t1']);
    expect(ids((await c.list({ states: ['COMMIT', 'ABORT'] })).txns)).toEqual(['t2', 't3', 't4']);
    expect(ids((await c.list({ participant: 'a' })).txns)).toEqual(['t1', 't2', 't4']);
    expect(ids((await c.list({ participant: 'a', unackedOnly: true })).txns)).toEqual(['t1', 't2']);
    expect(ids((await c.list({ limit: 2 })).txns)).toEqual(['t1', 't2']);
  });

  test('List pages through more records than one range returns', async () => {
    const kv = new InProcessKv();
    const c = new TxnCoordinator(kv, { scanPageSize: 7 });
    for (let i = 0; i < 30; i++) await begin(c, `t${String(i).padStart(2, '0')}`, ['a']);
    const all = (await c.list()).txns.map((t) => t.record.id);
    expect(all).toHaveLength(30);
    expect(new Set(all).size).toBe(30);
  });

  test('the decision stream replays from a revision, filters, and resumes without repeats', async () => {
    const { kv, c } = setup();
    const from = kv.store.currentRevision + 1;
    await begin(c, 't1', ['a', 'b']);
    await begin(c, 't2', ['b']);
    await c.vote('t1', 'a', 'YES');
    const d1 = await c.vote('t1', 'b', 'YES');
    await c.ack('t1', 'a');
    const d2 = await c.vote('t2', 'b', 'NO');
    const collect = async (
      filter: { participant?: string; txnId?: string },
      fromRevision: number,
      n: number,
    ) => {
      const controller = new AbortController();
      const got: { id: string; state: string; revision: number }[] = [];
      for await (const d of c.decisions(filter, fromRevision, controller.signal)) {
        got.push({ id: d.txn.record.id, state: d.txn.record.state, revision: d.revision });
        if (got.length === n) break;
      }
      return got;
    };
    expect(await collect({}, from, 2)).toEqual([
      { id: 't1', state: 'COMMIT', revision: d1.revision },
      { id: 't2', state: 'ABORT', revision: d2.revision },
    ]);
    expect(await collect({ participant: 'a' }, from, 1)).toEqual([
      { id: 't1', state: 'COMMIT', revision: d1.revision },
    ]);
    expect(await collect({ txnId: 't2' }, from, 1)).toEqual([
      { id: 't2', state: 'ABORT', revision: d2.revision },
    ]);
    // Resuming after the first decision gives the second and nothing before it.
    expect(await collect({}, d1.revision + 1, 1)).toEqual([
      { id: 't2', state: 'ABORT', revision: d2.revision },
    ]);
    // Live: a decision made after the stream started arrives.
    await begin(c, 't3', ['a']);
    const live = collect({ participant: 'a' }, kv.store.currentRevision + 1, 1);
    const d3 = await c.abort('t3', 'operator');
    expect(await live).toEqual([{ id: 't3', state: 'ABORT', revision: d3.revision }]);
  });

  test('values under the prefix that are not records are skipped', async () => {
    const { kv, c } = setup();
    await kv.txn({
      success: [{ requestPut: { key: txnKey('junk'), value: new TextEncoder().encode('{oops') } }],
    });
    await begin(c, 't', ['a']);
    expect((await c.list()).txns.map((t) => t.record.id)).toEqual(['t']);
    expect(await codeOf(c.get('junk'))).toBe(ErrorCode.CORRUPT);
    expect(decodeRecord(new TextEncoder().encode('[]'))).toBeUndefined();
  });
});

describe('leader duties', () => {
  test('only the leader scans: at once on becoming leader, periodically after, never once it lost leadership', async () => {
    const { clock, c } = setup();
    const leadership = new SwitchedLeadership();
    const duties = new TxnLeaderDuties(c, leadership, { scanIntervalMs: 5 });
    duties.start();
    await begin(c, 'a', ['p'], 100);
    clock.nowMs += 200;
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await c.get('a')).txn.record.state).toBe('PREPARING');
    leadership.set(true);
    await eventually(async () => expect((await c.get('a')).txn.record.reason).toBe('deadline'), 5_000, 5);
    // Periodic: a record that expires later is aborted by a later scan.
    await begin(c, 'b', ['p'], 100);
    clock.nowMs += 200;
    await eventually(async () => expect((await c.get('b')).txn.record.state).toBe('ABORT'), 5_000, 5);
    leadership.set(false);
    await duties.stop();
    await begin(c, 'c', ['p'], 100);
    clock.nowMs += 200;
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await c.get('c')).txn.record.state).toBe('PREPARING');
  });
});

/** A leadership the test switches. */
class SwitchedLeadership implements CoordinationLeadership {
  private leading = false;
  private readonly listeners = new Set<(leading: boolean) => void>();
  isLeader(): boolean {
    return this.leading;
  }
  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(leading: boolean): void {
    this.leading = leading;
    for (const l of this.listeners) l(leading);
  }
}

/** A CoordinationKv whose next `hold` Txns wait until the test releases them; state: what the Txn would write. */
class HeldTxns extends InProcessKv {
  hold = 0;
  readonly held: { state: string | undefined; go: () => void }[] = [];
  constructor(private readonly inner: InProcessKv) {
    super();
  }
  override range(req: Parameters<InProcessKv['range']>[0]) {
    return this.inner.range(req);
  }
  override watch(...args: Parameters<InProcessKv['watch']>) {
    return this.inner.watch(...args);
  }
  override async txn(req: TxnRequest): Promise<TxnResponse> {
    if (this.hold > 0) {
      this.hold--;
      const put = req.success?.[0];
      const value = put && 'requestPut' in put ? put.requestPut.value : undefined;
      const state = value ? decodeRecord(value)?.state : undefined;
      await new Promise<void>((go) => this.held.push({ state, go }));
    }
    return this.inner.txn(req);
  }
  release(h: { go: () => void }): void {
    h.go();
  }
}
