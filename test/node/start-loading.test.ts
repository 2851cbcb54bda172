/**
 * Proves a node started while its state machine loads (RaftNodeOptions.startLoading): with
 * one member of three down, the loading member and the third make the quorum, so writes
 * commit; the loading member never leads and applies nothing until told its load is done,
 * then applies everything committed meanwhile, in order, and may lead after.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { EntryKind } from '../../src/node/envelope.js';
import {
  eventually,
  Hub,
  type MemMember,
  MemNodeStorage,
  retryRetriable,
  startMember,
  TextStateMachine,
} from './support.js';

const enc = (s: string) => new TextEncoder().encode(s);
let running: MemMember[] = [];

afterEach(async () => {
  await Promise.all(running.map((m) => m.node.stop()));
  running = [];
});

describe('a member that starts while its state machine loads', () => {
  test('completes a quorum, never leads and applies nothing until loaded; then catches up and may lead', async () => {
    const hub = new Hub();
    const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const ready = startMember<number, TextStateMachine>(
      hub,
      1,
      new MemNodeStorage(cs),
      new TextStateMachine(),
    );
    const loading = startMember<number, TextStateMachine>(
      hub,
      2,
      new MemNodeStorage(cs),
      new TextStateMachine(),
      1_000_000,
      22,
      undefined,
      false,
      0,
      true,
    );
    running = [ready, loading];
    // Member 3 is down: member 1 can lead only with the loading member's vote.
    await eventually(() => (ready.node.leader === 1 ? true : undefined), 'member 1 to lead');
    for (let i = 0; i < 5; i++)
      await retryRetriable(() => ready.node.propose(EntryKind.Mvcc, enc(`k${i}=v${i}`)));
    expect(ready.sm.data.get('k4')).toBe('v4');
    // The writes committed through member 2 (the only other voter up), which applied none.
    expect(loading.storage.raftStorage.lastIndex()).toBeGreaterThanOrEqual(ready.node.appliedIndex);
    expect(loading.sm.data.size).toBe(0);
    expect(loading.node.appliedIndex).toBe(0);
    expect(loading.node.leader).toBe(1);
    loading.node.stateMachineLoaded();
    await eventually(() => (loading.sm.data.get('k4') === 'v4' ? true : undefined), 'member 2 to catch up');
    expect([...loading.sm.data.keys()]).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    // Loaded, it may lead: member 1 stops, and member 2 takes over once member 3 comes up.
    await ready.node.stop();
    const third = startMember<number, TextStateMachine>(
      hub,
      3,
      new MemNodeStorage(cs),
      new TextStateMachine(),
      1_000_000,
      33,
    );
    running.push(third);
    await eventually(
      () => (loading.node.leader !== 0 && loading.node.leader !== 1 ? true : undefined),
      'a new leader among members 2 and 3',
    );
  });

  test('with every member loading nobody leads; the first one loaded does', async () => {
    const hub = new Hub();
    const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    running = [1, 2, 3].map((id) =>
      startMember<number, TextStateMachine>(
        hub,
        id,
        new MemNodeStorage(cs),
        new TextStateMachine(),
        1_000_000,
        id * 11,
        undefined,
        false,
        0,
        true,
      ),
    );
    // 20 election timeouts of 10 ticks of 5 ms: nobody stands.
    await new Promise((r) => setTimeout(r, 1_000));
    for (const m of running) expect(m.node.leader).toBe(0);
    running[2]!.node.stateMachineLoaded();
    await eventually(() => (running[0]!.node.leader === 3 ? true : undefined), 'member 3 to lead');
    expect(running[1]!.node.leader).toBe(3);
  });
});
