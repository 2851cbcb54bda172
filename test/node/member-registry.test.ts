/**
 * Proves the member registry on its own: it follows configuration changes as raft applies
 * them (founding members filled in from the founding configuration, adds with their peer
 * URLs from the change's context, learners promoted, removed ids remembered), refuses
 * requests with etcd's error codes, applies MemberUpdate with the same refusal everywhere,
 * and survives the two ways state leaves memory: storage records (written through the
 * state machine's ops and recovered) and snapshots.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/common/errors.js';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { MvccStore } from '../../src/mvcc/index.js';
import { KvStateMachine } from '../../src/node/kv-state-machine.js';
import { type MemberChangeContext, MemberRegistry } from '../../src/node/member-registry.js';
import {
  MembershipStateMachine,
  membershipWritesToOps,
  recoverMembershipStateMachine,
} from '../../src/node/membership-state-machine.js';
import { type ConfChange, ConfChangeTransition, ConfChangeType } from '../../src/raft/index.js';

const url = (port: number) => `http://127.0.0.1:${port}`;
const founders = [
  { id: 11, name: 'n1', peerUrls: [url(1001)] },
  { id: 12, name: 'n2', peerUrls: [url(1002)] },
  { id: 13, name: 'n3', peerUrls: [url(1003)] },
];

function cc(type: ConfChangeType, nodeId: number): ConfChange {
  return { transition: ConfChangeTransition.Auto, changes: [{ type, nodeId }], context: new Uint8Array(0) };
}

function ctx(id: number, port: number): MemberChangeContext {
  return { members: [{ id, peerUrls: [url(port)] }] };
}

function founded(): MemberRegistry {
  const r = new MemberRegistry();
  r.setFounders(99, founders);
  for (const f of founders) r.applyConfChange(cc(ConfChangeType.AddNode, f.id), undefined);
  return r;
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isCairnError(err) ? err.code : `not a CairnError: ${String(err)}`;
  }
}

describe('MemberRegistry', () => {
  test('the founding entries (ids only) are filled in from the founding configuration', () => {
    const r = founded();
    expect(r.clusterId).toBe(99);
    expect(r.list()).toEqual(founders.map((f) => ({ ...f, isLearner: false })));
  });

  test('adds, promotes and removes follow the applied changes; a removed id is remembered', () => {
    const r = founded();
    let changes = 0;
    r.onChange = () => changes++;
    r.applyConfChange(cc(ConfChangeType.AddLearnerNode, 20), ctx(20, 1020));
    expect(r.get(20)).toEqual({ id: 20, name: '', peerUrls: [url(1020)], isLearner: true });
    expect(r.learnerCount).toBe(1);
    r.applyConfChange(cc(ConfChangeType.AddNode, 20), ctx(20, 1020));
    expect(r.get(20)?.isLearner).toBe(false);
    r.applyConfChange(cc(ConfChangeType.RemoveNode, 12), undefined);
    expect(r.get(12)).toBeUndefined();
    expect(r.isRemoved(12)).toBe(true);
    expect(r.list().map((m) => m.id)).toEqual([11, 13, 20]);
    expect(changes).toBe(3);
  });

  test('requests are refused with etcd error codes', () => {
    const r = founded();
    expect(codeOf(() => r.checkAdd([url(1002)], false))).toBe(ErrorCode.PEER_URL_EXISTS);
    expect(codeOf(() => r.checkAdd(['not a url'], false))).toBe(ErrorCode.MEMBER_BAD_URLS);
    expect(codeOf(() => r.checkAdd([], false))).toBe(ErrorCode.MEMBER_BAD_URLS);
    expect(codeOf(() => r.checkAdd([url(1020)], true))).toBeUndefined();
    r.applyConfChange(cc(ConfChangeType.AddLearnerNode, 20), ctx(20, 1020));
    expect(codeOf(() => r.checkAdd([url(1021)], true))).toBe(ErrorCode.TOO_MANY_LEARNERS);
    expect(codeOf(() => r.checkAdd([url(1021)], false))).toBeUndefined();
    expect(codeOf(() => r.checkNewId(11))).toBe(ErrorCode.MEMBER_EXISTS);
    expect(codeOf(() => r.checkRemove(404))).toBe(ErrorCode.MEMBER_NOT_FOUND);
    expect(codeOf(() => r.checkPromote(404))).toBe(ErrorCode.MEMBER_NOT_FOUND);
    expect(codeOf(() => r.checkPromote(11))).toBe(ErrorCode.MEMBER_NOT_LEARNER);
    expect(codeOf(() => r.checkPromote(20))).toBeUndefined();
    expect(codeOf(() => r.checkUpdate(11, [url(1003)]))).toBe(ErrorCode.PEER_URL_EXISTS);
    expect(codeOf(() => r.checkUpdate(11, [url(1001)]))).toBeUndefined();
    r.applyConfChange(cc(ConfChangeType.RemoveNode, 20), undefined);
    expect(codeOf(() => r.checkNewId(20))).toBe(ErrorCode.MEMBER_EXISTS);
  });

  test('MemberUpdate moves a member, and is refused the same way wherever it is applied', () => {
    const r = founded();
    expect(r.applyUpdate({ id: 11, peerUrls: [url(2001)] })).toBeUndefined();
    expect(r.get(11)?.peerUrls).toEqual([url(2001)]);
    expect(r.applyUpdate({ id: 404, peerUrls: [url(2002)] })?.code).toBe(ErrorCode.MEMBER_NOT_FOUND);
    expect(r.applyUpdate({ id: 11, peerUrls: [url(1002)] })?.code).toBe(ErrorCode.PEER_URL_EXISTS);
    expect(r.get(11)?.peerUrls).toEqual([url(2001)]);
  });
});

describe('MembershipStateMachine persistence and snapshots', () => {
  function machine(): MembershipStateMachine {
    return new MembershipStateMachine(new KvStateMachine(new MvccStore(), 0), new MemberRegistry());
  }

  /** Plays storage: applies the ops of every takeWrites to a map of state-machine keys. */
  function persistInto(disk: Map<string, [Uint8Array, Uint8Array]>, sm: MembershipStateMachine): void {
    const writes = sm.takeWrites();
    if (writes === undefined) return;
    const ops = membershipWritesToOps(writes);
    if (ops.clearFirst) disk.clear();
    for (const k of ops.dels) disk.delete(Buffer.from(k).toString('hex'));
    for (const [k, v] of ops.puts) disk.set(Buffer.from(k).toString('hex'), [k, v]);
  }

  function recover(
    disk: Map<string, [Uint8Array, Uint8Array]>,
    appliedIndex: number,
  ): Promise<MembershipStateMachine> {
    const stateMachine = [...disk.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, kv]) => kv);
    return recoverMembershipStateMachine({ appliedIndex, stateMachine: [stateMachine] });
  }

  test('the registry written through storage ops is recovered whole, beside the key-value data', async () => {
    const sm = machine();
    sm.registry.setFounders(99, founders);
    const disk = new Map<string, [Uint8Array, Uint8Array]>();
    founders.forEach((f, i) => {
      sm.applyConfChange({ index: i + 1, term: 1 }, cc(ConfChangeType.AddNode, f.id), undefined);
    });
    persistInto(disk, sm);
    sm.registry.applyConfChange(cc(ConfChangeType.RemoveNode, 13), undefined);
    sm.registry.applyConfChange(cc(ConfChangeType.AddLearnerNode, 20), ctx(20, 1020));
    sm.skip({ index: 5, term: 1 });
    persistInto(disk, sm);
    const back = await recover(disk, 5);
    expect(back.registry.state()).toEqual(sm.registry.state());
    expect(back.registry.isRemoved(13)).toBe(true);
    expect(back.registry.clusterId).toBe(99);
    expect(back.kv.store.currentRevision).toBe(1);
  });

  test('a snapshot carries the registry; restoring it replaces what storage holds', async () => {
    const sm = machine();
    sm.registry.setFounders(99, founders);
    founders.forEach((f, i) => {
      sm.applyConfChange({ index: i + 1, term: 1 }, cc(ConfChangeType.AddNode, f.id), undefined);
    });
    sm.registry.applyConfChange(cc(ConfChangeType.AddNode, 20), ctx(20, 1020));
    sm.skip({ index: 4, term: 1 });
    const data = collectBytes(sm.snapshot());

    const other = machine();
    const disk = new Map<string, [Uint8Array, Uint8Array]>();
    other.registry.setFounders(0, []);
    other.registry.applyConfChange(cc(ConfChangeType.AddNode, 77), ctx(77, 1077));
    persistInto(disk, other);
    other.restore(4, data);
    expect(other.registry.state()).toEqual(sm.registry.state());
    persistInto(disk, other);
    const back = await recover(disk, 4);
    expect(back.registry.state()).toEqual(sm.registry.state());
    expect(back.registry.get(77)).toBeUndefined();
  });
});
