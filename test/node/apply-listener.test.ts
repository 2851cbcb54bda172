/**
 * Proves the KvStateMachine's apply listener (the hook the watch hub hangs on): it hears each
 * applied revision with exactly its events, nothing for an apply that wrote nothing, and is
 * told when a snapshot replaced the store. Entries are applied directly, without raft.
 */
import { describe, expect, test } from 'vitest';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { EventType, encodeCommand, type MvccEvent, MvccStore } from '../../src/mvcc/index.js';
import { EntryKind } from '../../src/node/envelope.js';
import { KvStateMachine } from '../../src/node/kv-state-machine.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('KvStateMachine apply listener', () => {
  test('hears each written revision with its events, and the revision after a snapshot install', () => {
    const sm = new KvStateMachine(new MvccStore(), 0);
    const heard: { revision: number; events: readonly MvccEvent[] }[] = [];
    const restoredTo: number[] = [];
    sm.applyListener = {
      applied: (revision, events) => heard.push({ revision, events }),
      restored: (store) => restoredTo.push(store.currentRevision),
    };
    const apply = (index: number, cmd: Parameters<typeof encodeCommand>[0]) =>
      sm.apply(
        { index, term: 1 },
        { kind: EntryKind.Mvcc, proposer: 1, seq: index, payload: encodeCommand(cmd) },
      );

    apply(1, { type: 'put', request: { key: enc('a'), value: enc('1') } });
    apply(2, { type: 'deleteRange', request: { key: enc('missing') } });
    apply(3, { type: 'deleteRange', request: { key: enc('a') } });
    expect(heard.map((h) => [h.revision, h.events.map((e) => e.type)])).toEqual([
      [2, [EventType.Put]],
      [3, [EventType.Delete]],
    ]);

    const source = new KvStateMachine(new MvccStore(), 0);
    for (let i = 1; i <= 5; i++)
      source.apply(
        { index: i, term: 1 },
        {
          kind: EntryKind.Mvcc,
          proposer: 1,
          seq: i,
          payload: encodeCommand({ type: 'put', request: { key: enc(`k${i}`), value: enc('v') } }),
        },
      );
    sm.restore(5, collectBytes(source.snapshot()));
    expect(restoredTo).toEqual([6]);
    expect(heard).toHaveLength(2);
  });
});
