/**
 * Proves the election recipe's behaviour over a real MvccStore (commands applied in process,
 * the server's ApplyFeed delivering changes): one leader at a time in create revision order,
 * Proclaim only by the current leadership (etcd's "election: not leader" otherwise), Leader
 * and its "election: no leader", Resign as a no-op for a stale leadership, and Observe
 * streaming the leader's values and the next leader, ending with no watch left behind.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import {
  campaign,
  currentLeader,
  type LeaderState,
  observeLeader,
  proclaim,
  resign,
} from '../../src/coordination/election.js';
import { b, InProcessKv, settle, str, track } from './support.js';

const never = new AbortController().signal;

/** Collects observed leader values into an array until aborted. */
function collect(
  kv: InProcessKv,
  name: string,
  signal: AbortSignal,
): { seen: string[]; done: Promise<void> } {
  const seen: string[] = [];
  const done = (async () => {
    for await (const s of observeLeader(kv, b(name), signal) as AsyncIterable<LeaderState>) {
      seen.push(`${str(s.kv.key)}=${str(s.kv.value)}`);
    }
  })();
  return { seen, done };
}

describe('election recipe', () => {
  test('an uncontended campaign wins at once; Leader reports its key and value', async () => {
    const kv = new InProcessKv();
    const won = await campaign(kv, b('svc'), 0x1f, b('node-a'), never);
    expect(str(won.leader.key)).toBe('svc/1f');
    expect(won.leader.rev).toBe(kv.store.range({ key: b('svc/1f') }).kvs[0]!.createRevision);
    const leader = await currentLeader(kv, b('svc'));
    expect(str(leader.kv.value)).toBe('node-a');
    expect(leader.kv.lease).toBe(0x1f);
  });

  test("Leader of an election nobody holds answers etcd's no-leader error", async () => {
    const kv = new InProcessKv();
    await expect(currentLeader(kv, b('none'))).rejects.toMatchObject({
      code: ErrorCode.ELECTION_NO_LEADER,
      message: 'election: no leader',
    });
  });

  test('a second candidate waits until the leader resigns; only one leads at a time', async () => {
    const kv = new InProcessKv();
    const a = await campaign(kv, b('e'), 1, b('a'), never);
    const second = track(campaign(kv, b('e'), 2, b('b'), never));
    await settle();
    expect(second.done).toBe(false);
    expect(str((await currentLeader(kv, b('e'))).kv.value)).toBe('a');
    await resign(kv, a.leader);
    const won = await second.promise;
    expect(won.leader.rev).toBeGreaterThan(a.leader.rev);
    expect(str((await currentLeader(kv, b('e'))).kv.value)).toBe('b');
    expect(kv.feed.watcherCount).toBe(0);
  });

  test("Proclaim by a leadership that is gone fails with etcd's not-leader error; its Resign changes nothing", async () => {
    const kv = new InProcessKv();
    const a = await campaign(kv, b('p'), 1, b('a'), never);
    await proclaim(kv, a.leader, b('a2'));
    expect(str((await currentLeader(kv, b('p'))).kv.value)).toBe('a2');
    await resign(kv, a.leader);
    const again = await campaign(kv, b('p'), 1, b('a3'), never);
    expect(again.leader.rev).toBeGreaterThan(a.leader.rev);
    await expect(proclaim(kv, a.leader, b('stale'))).rejects.toMatchObject({
      code: ErrorCode.ELECTION_NOT_LEADER,
      message: 'election: not leader',
    });
    await resign(kv, a.leader);
    expect(str((await currentLeader(kv, b('p'))).kv.value)).toBe('a3');
  });

  test('a lease campaigning again re-uses its key and proclaims the new value', async () => {
    const kv = new InProcessKv();
    const first = await campaign(kv, b('r'), 9, b('one'), never);
    const again = await campaign(kv, b('r'), 9, b('two'), never);
    expect(again.leader.rev).toBe(first.leader.rev);
    expect(str((await currentLeader(kv, b('r'))).kv.value)).toBe('two');
  });

  test('a cancelled campaign takes its key out and leaves no watch', async () => {
    const kv = new InProcessKv();
    await campaign(kv, b('c'), 1, b('a'), never);
    const cancel = new AbortController();
    const waiting = campaign(kv, b('c'), 2, b('b'), cancel.signal);
    await settle();
    cancel.abort();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.CANCELLED });
    expect(kv.store.range({ key: b('c/2') }).kvs).toHaveLength(0);
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('Observe waits for a first leader, then streams proclaimed values and the next leader', async () => {
    const kv = new InProcessKv();
    const stop = new AbortController();
    const obs = collect(kv, 'o', stop.signal);
    await settle();
    expect(obs.seen).toEqual([]);
    const a = await campaign(kv, b('o'), 0xa, b('v1'), never);
    await settle();
    const bWait = campaign(kv, b('o'), 0xb, b('w1'), never);
    await settle();
    await proclaim(kv, a.leader, b('v2'));
    await settle();
    await resign(kv, a.leader);
    const bWon = await bWait;
    await settle();
    await proclaim(kv, bWon.leader, b('w2'));
    await settle();
    expect(obs.seen).toEqual(['o/a=v1', 'o/a=v2', 'o/b=w1', 'o/b=w2']);
    stop.abort();
    await obs.done;
    expect(kv.feed.watcherCount).toBe(0);
  });

  test('Observe of a held election starts with the current leader; a leader whose lease ends hands over', async () => {
    const kv = new InProcessKv();
    await campaign(kv, b('h'), 1, b('first'), never);
    const second = campaign(kv, b('h'), 2, b('second'), never);
    const stop = new AbortController();
    const obs = collect(kv, 'h', stop.signal);
    await settle();
    kv.apply({ type: 'deleteKeys', keys: [b('h/1')] });
    await second;
    await settle();
    expect(obs.seen).toEqual(['h/1=first', 'h/2=second']);
    stop.abort();
    await obs.done;
    expect(kv.feed.watcherCount).toBe(0);
  });
});
