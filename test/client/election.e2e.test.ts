/**
 * Proves the SDK's Election against a real three-member cluster: a campaign wins an empty
 * election, observers see the value and each proclaimed one, a second candidate waits and
 * takes over (with a larger revision) when the first resigns or when its session closes, the
 * leader's signal aborts when its leadership ends, and an observer keeps delivering across
 * the SIGKILL of the member its stream is on, and closing a client ends its campaign in
 * flight with CANCELLED and takes it out of line. Observers are read through a small reader that
 * waits for a given value, so no assertion depends on timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import type { ElectionObserver } from '../../src/client/election-observer.js';
import { ClientError, ErrorCode } from '../../src/client/errors.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';

let cluster: TestCluster;
let client: Client;

beforeAll(async () => {
  cluster = await TestCluster.start();
  // Generous: member processes start slowly on a loaded machine.
  await cluster.leaderName(80_000);
  client = new Client({ endpoints: cluster.endpoints(), deadlineMs: 8000 });
}, 90_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

/** Reads an observer in the background; `until(v)` resolves once value v has been seen. */
function reader(observer: ElectionObserver): {
  seen: string[];
  revisions: number[];
  until(value: string): Promise<void>;
} {
  const seen: string[] = [];
  const revisions: number[] = [];
  const waiters: { value: string; resolve: () => void }[] = [];
  void (async () => {
    for await (const kv of observer) {
      const v = kv.value.toString();
      seen.push(v);
      revisions.push(kv.modRevision);
      for (const w of waiters.filter((x) => x.value === v)) w.resolve();
    }
  })();
  return {
    seen,
    revisions,
    until(value: string): Promise<void> {
      if (seen.includes(value)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ value, resolve }));
    },
  };
}

describe('election', () => {
  it('campaigns, proclaims, and hands over to the next candidate when the leader resigns', async () => {
    const other = new Client({ endpoints: cluster.endpoints() });
    const observer = client.election('el/a').observe();
    try {
      const seen = reader(observer);
      const first = client.election('el/a');
      expect(await first.leader()).toBeUndefined();
      const key = await first.campaign('alpha');
      expect(first.isLeader).toBe(true);
      expect((await first.leader())?.value.toString()).toBe('alpha');
      await seen.until('alpha');
      await first.proclaim('alpha-2');
      await seen.until('alpha-2');
      expect((await first.leader())?.value.toString()).toBe('alpha-2');

      const second = other.election('el/a');
      const waiting = second.campaign('beta');
      await expect(second.proclaim('nope')).rejects.toMatchObject({ code: ErrorCode.ELECTION_NOT_LEADER });
      const leadership = first.signal!;
      await first.resign();
      expect(leadership.aborted).toBe(true);
      expect(first.isLeader).toBe(false);
      const next = await waiting;
      expect(next.rev).toBeGreaterThan(key.rev);
      await seen.until('beta');
      expect((await first.leader())?.value.toString()).toBe('beta');
      expect(seen.seen).toEqual(['alpha', 'alpha-2', 'beta']);
      await expect(first.proclaim('late')).rejects.toMatchObject({ code: ErrorCode.ELECTION_NOT_LEADER });
      await second.resign();
      expect(await first.leader()).toBeUndefined();
    } finally {
      observer.close();
      await other.close();
    }
  });

  it('hands over when the leader session closes, and ends the old leadership', async () => {
    const other = new Client({ endpoints: cluster.endpoints() });
    try {
      const session = await client.session({ ttlSeconds: 10 });
      const first = client.election('el/b', { session });
      const key = await first.campaign('one');
      const leadership = first.signal!;
      const second = other.election('el/b');
      const waiting = second.campaign('two');
      await eventually(async () => {
        const kvs = await client.kv.get('el/b/', { prefix: true });
        expect(kvs.kvs).toHaveLength(2);
      });
      await session.close();
      const next = await waiting;
      expect(next.rev).toBeGreaterThan(key.rev);
      expect((await second.leader())?.value.toString()).toBe('two');
      await eventually(async () => expect(leadership.aborted).toBe(true));
      expect(first.isLeader).toBe(false);
      await second.resign();
    } finally {
      await other.close();
    }
  });

  it('client.close() ends a campaign in flight with CANCELLED and takes it out of line', async () => {
    const leader = client.election('el/d');
    await leader.campaign('first');
    for (const own of [true, false]) {
      const other = new Client({ endpoints: cluster.endpoints() });
      const election = own
        ? other.election('el/d')
        : other.election('el/d', { session: await other.session({ ttlSeconds: 60 }) });
      const waiting = election.campaign('second').catch((e: unknown) => e);
      await eventually(async () =>
        expect((await client.kv.get('el/d/', { prefix: true })).kvs).toHaveLength(2),
      );
      await other.close();
      const ended = await waiting;
      expect(ended, `own session ${own}`).toBeInstanceOf(ClientError);
      expect((ended as ClientError).code, `own session ${own}`).toBe(ErrorCode.CANCELLED);
      await eventually(async () =>
        expect((await client.kv.get('el/d/', { prefix: true })).kvs).toHaveLength(1),
      );
    }
    expect(leader.isLeader).toBe(true);
    await leader.resign();
  });

  it('observes across the SIGKILL of the member its stream is on', async () => {
    const leader = await cluster.leaderName();
    const follower = cluster.topology.members.find((m) => m.name !== leader)!.name;
    // random 0: the follower is the preferred endpoint, so the Observe stream goes there.
    const onFollower = new Client({ endpoints: cluster.endpoints([follower, leader]), random: () => 0 });
    const observer = onFollower.election('el/c').observe();
    const candidate = client.election('el/c');
    try {
      expect(onFollower.connection.currentAddress).toBe(cluster.endpoints([follower])[0]);
      const seen = reader(observer);
      await candidate.campaign('v1');
      await seen.until('v1');
      await cluster.kill(follower);
      await eventually(() => candidate.proclaim('v2'));
      await seen.until('v2');
      await candidate.proclaim('v3');
      await seen.until('v3');
      // Each state once, in order (a retried proclaim may write v2 twice: two states).
      expect([...new Set(seen.seen)]).toEqual(['v1', 'v2', 'v3']);
      for (let i = 1; i < seen.revisions.length; i++) {
        expect(seen.revisions[i]).toBeGreaterThan(seen.revisions[i - 1]!);
      }
      expect(onFollower.connection.currentAddress).not.toBe(cluster.endpoints([follower])[0]);
    } finally {
      observer.close();
      await candidate.resign();
      await onFollower.close();
    }
  }, 60_000);
});
