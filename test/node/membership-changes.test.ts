/**
 * Proves membership changes through raft on an in-process cluster (memory transport): a
 * learner added to three members starts with an empty log and no configuration, catches up
 * (by log, or by a snapshot that carries the registry when the log was compacted), and is
 * promoted only once it is in sync; a removal and a MemberUpdate reach every member's
 * registry identically; a promotion asked of a follower answers NOT_LEADER.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { encodeCommand, MvccStore } from '../../src/mvcc/index.js';
import { EntryKind } from '../../src/node/envelope.js';
import { type KvResult, KvStateMachine } from '../../src/node/kv-state-machine.js';
import { MemberRegistry } from '../../src/node/member-registry.js';
import { MembershipChanges } from '../../src/node/membership-changes.js';
import { MembershipStateMachine } from '../../src/node/membership-state-machine.js';
import { EMPTY_CONF_STATE, Role } from '../../src/raft/index.js';
import {
  eventually,
  Hub,
  type MemMember,
  MemNodeStorage,
  retryRetriable,
  startClusterWith,
  startMember,
} from './support.js';

type Member = MemMember<KvResult, MembershipStateMachine>;
const enc = (s: string) => new TextEncoder().encode(s);
const url = (port: number) => `http://127.0.0.1:${port}`;
const founders = [1, 2, 3].map((id) => ({ id, name: `n${id}`, peerUrls: [url(1000 + id)] }));
let running: Member[] = [];

afterEach(async () => {
  await Promise.all(running.map((m) => m.node.stop()));
  running = [];
});

function machine(): MembershipStateMachine {
  const registry = new MemberRegistry();
  registry.setFounders(42, founders);
  return new MembershipStateMachine(new KvStateMachine(new MvccStore(), 0), registry);
}

function startThree(hub: Hub, snapshotCount = 1_000_000): Member[] {
  running = startClusterWith<KvResult, MembershipStateMachine>([1, 2, 3], machine, hub, snapshotCount);
  return running;
}

/** A member that joins: empty storage, no configuration, a registry that knows only the cluster. */
function startJoiner(hub: Hub, id: number): Member {
  const registry = new MemberRegistry();
  registry.setFounders(42, founders);
  const sm = new MembershipStateMachine(new KvStateMachine(new MvccStore(), 0), registry);
  const m = startMember<KvResult, MembershipStateMachine>(hub, id, new MemNodeStorage(EMPTY_CONF_STATE), sm);
  running.push(m);
  return m;
}

function changesOf(m: Member): MembershipChanges {
  return new MembershipChanges(m.node, m.sm.registry, { clusterToken: 't', retryForMs: 3000 });
}

async function leaderOf(ms: Member[]): Promise<Member> {
  return eventually(() => ms.find((m) => m.node.status().role === Role.Leader), 'a leader');
}

async function put(m: Member, key: string): Promise<void> {
  await retryRetriable(() =>
    m.node.propose(
      EntryKind.Mvcc,
      encodeCommand({ type: 'put', request: { key: enc(key), value: enc('v') } }),
    ),
  );
}

describe('membership changes through raft', () => {
  test('a learner joins with an empty log, catches up, and is promoted once in sync', async () => {
    const hub = new Hub();
    const ms = startThree(hub);
    const lead = await leaderOf(ms);
    await put(lead, 'before');
    const added = await retryRetriable(() => changesOf(lead).add([url(1004)], true));
    expect(added.isLearner).toBe(true);
    // The joiner is not running yet: the leader cannot know it is in sync.
    await expect(changesOf(lead).promote(added.id)).rejects.toMatchObject({
      code: ErrorCode.LEARNER_NOT_READY,
    });

    const joiner = startJoiner(hub, added.id);
    await eventually(
      () => (joiner.sm.kv.store.range({ key: enc('before') }).kvs.length === 1 ? true : undefined),
      'the joiner catching up',
    );
    await eventually(
      () =>
        (lead.node.status().progress?.get(added.id)?.match ?? 0) >= lead.node.status().lastIndex
          ? true
          : undefined,
      'the leader seeing the learner in sync',
    );
    await changesOf(lead).promote(added.id);
    for (const m of [...ms, joiner]) {
      await eventually(
        () => (m.sm.registry.get(added.id)?.isLearner === false ? true : undefined),
        'the promotion',
      );
      expect(m.sm.registry.state()).toEqual(lead.sm.registry.state());
    }
    expect(lead.node.configuration.voters).toContain(added.id);
    expect(joiner.sm.registry.get(1)?.peerUrls).toEqual([url(1001)]);
  });

  test('a joiner behind a compacted log gets the registry in the snapshot', async () => {
    const hub = new Hub();
    const ms = startThree(hub, 10);
    const lead = await leaderOf(ms);
    const added = await retryRetriable(() => changesOf(lead).add([url(1004)], false));
    for (let i = 0; i < 30; i++) await put(lead, `k${i}`);
    await eventually(() => (lead.storage.raftStorage.firstIndex() > 5 ? true : undefined), 'log compaction');
    // A registry that knows no founders: everything it ends with came in the snapshot.
    const registry = new MemberRegistry();
    const sm = new MembershipStateMachine(new KvStateMachine(new MvccStore(), 0), registry);
    const joiner = startMember<KvResult, MembershipStateMachine>(
      hub,
      added.id,
      new MemNodeStorage(EMPTY_CONF_STATE),
      sm,
    );
    running.push(joiner);
    await eventually(
      () => (joiner.sm.kv.store.range({ key: enc('k29') }).kvs.length === 1 ? true : undefined),
      'the joiner catching up',
    );
    expect(joiner.sm.registry.state()).toEqual(lead.sm.registry.state());
    expect(joiner.sm.registry.list().map((m) => m.id)).toEqual([1, 2, 3, added.id].sort((a, b) => a - b));
  });

  test('a removal and a MemberUpdate reach every registry; a follower cannot judge a promotion', async () => {
    const hub = new Hub();
    const ms = startThree(hub);
    const lead = await leaderOf(ms);
    const follower = ms.find((m) => m !== lead)!;
    const other = ms.find((m) => m !== lead && m !== follower)!;
    await retryRetriable(() => changesOf(follower).update(lead.id, [url(2000 + lead.id)]));
    await expect(changesOf(follower).update(lead.id, [url(1000 + other.id)])).rejects.toMatchObject({
      code: ErrorCode.PEER_URL_EXISTS,
    });
    await retryRetriable(() => changesOf(follower).remove(other.id));
    await expect(changesOf(follower).remove(other.id)).rejects.toMatchObject({
      code: ErrorCode.MEMBER_NOT_FOUND,
    });
    const learner = await retryRetriable(() => changesOf(lead).add([url(1009)], true));
    const err = await changesOf(follower)
      .promote(learner.id)
      .catch((e: unknown) => e);
    expect(isCairnError(err, ErrorCode.NOT_LEADER)).toBe(true);
    for (const m of [lead, follower]) {
      await eventually(() => (m.sm.registry.get(learner.id) ? true : undefined), 'the learner everywhere');
      expect(m.sm.registry.get(lead.id)?.peerUrls).toEqual([url(2000 + lead.id)]);
      expect(m.sm.registry.isRemoved(other.id)).toBe(true);
      expect(m.sm.registry.state()).toEqual(lead.sm.registry.state());
    }
    expect(lead.node.configuration.voters).not.toContain(other.id);
  });
});
