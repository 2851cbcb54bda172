/**
 * Proves restoreMember writes a data folder a member of the NEW cluster can start from: a
 * state machine with keys over several revisions, a lease, an old member's published
 * attributes, an alarm and an old registry is snapshotted into a file (the layout `snapshot
 * save` writes); restoring it and opening the folder as startServer does gives the same
 * store (hash, revisions, lease), the new members with the ids bootstrap derives, no old
 * member, attribute or alarm, and the raft snapshot, hard state and applied index of a member
 * that installed that snapshot. Damaged files, a used folder and bad flags are refused before
 * anything is written.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { clusterIdOf, memberIdOf } from '../../src/common/ids.js';
import { collectBytes } from '../../src/common/lazy-bytes.js';
import { silentLogger } from '../../src/common/logger.js';
import { type Command, encodeCommand, MvccStore } from '../../src/mvcc/index.js';
import { AlarmAction, AlarmType, encodeAlarmRequest } from '../../src/node/alarms.js';
import { EntryKind } from '../../src/node/envelope.js';
import { KvStateMachine } from '../../src/node/kv-state-machine.js';
import { encodeMemberAttributes } from '../../src/node/member-attributes.js';
import { MemberRegistry } from '../../src/node/member-registry.js';
import {
  MembershipStateMachine,
  membershipWritesToOps,
  recoverMembershipStateMachine,
} from '../../src/node/membership-state-machine.js';
import { type RestoreMemberOptions, restoreMember } from '../../src/node/snapshot-restore.js';
import { ConfChangeTransition, ConfChangeType } from '../../src/raft/index.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import { snapshotFileBody } from '../../src/storage/snapshot-file.js';

const enc = (s: string) => new TextEncoder().encode(s);
/** Every key with its revisions and version, bytes as text (storage gives Buffers, the store Uint8Arrays). */
const allKeys = (store: MvccStore) =>
  store.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }).kvs.map((kv) => ({
    ...kv,
    key: Buffer.from(kv.key).toString(),
    value: Buffer.from(kv.value).toString(),
  }));
const work = mkdtempSync(join(tmpdir(), 'cairn-restore-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const OLD_MEMBER = 0xabc;
const TOKEN = 'new-token';
const CLUSTER = [
  { name: 'a', peerUrls: ['http://10.0.0.1:2380'] },
  { name: 'b', peerUrls: ['http://10.0.0.2:2380'] },
  { name: 'c', peerUrls: ['http://10.0.0.3:2380'] },
];

/** An old cluster's state machine with data, an old member, its attributes and an alarm; and its file. */
function oldSnapshotFile(): { file: string; sm: MembershipStateMachine } {
  const sm = new MembershipStateMachine(new KvStateMachine(new MvccStore(), 0), new MemberRegistry());
  let index = 0;
  const pos = () => ({ index: ++index, term: 3 });
  sm.registry.setFounders(777, [{ id: OLD_MEMBER, name: 'old', peerUrls: ['http://old:2380'] }]);
  sm.applyConfChange(
    pos(),
    {
      transition: ConfChangeTransition.Auto,
      changes: [{ type: ConfChangeType.AddNode, nodeId: OLD_MEMBER }],
      context: new Uint8Array(0),
    },
    undefined,
  );
  const mvcc = (c: Command) =>
    sm.apply(pos(), { kind: EntryKind.Mvcc, proposer: 0, seq: 0, payload: encodeCommand(c) });
  for (const v of ['1', '2', '3']) mvcc({ type: 'put', request: { key: enc('k'), value: enc(v) } });
  mvcc({ type: 'leaseGrant', id: 42, ttlSeconds: 90 });
  mvcc({ type: 'put', request: { key: enc('/cairn/locks/x'), value: enc('held'), lease: 42 } });
  mvcc({ type: 'deleteRange', request: { key: enc('k') } });
  mvcc({ type: 'put', request: { key: enc('k'), value: enc('again') } });
  sm.apply(pos(), {
    kind: EntryKind.MemberAttributes,
    proposer: 0,
    seq: 0,
    payload: encodeMemberAttributes({ id: OLD_MEMBER, name: 'old', clientUrls: ['http://old:2379'] }),
  });
  sm.apply(pos(), {
    kind: EntryKind.Alarm,
    proposer: 0,
    seq: 0,
    payload: encodeAlarmRequest({
      action: AlarmAction.ACTIVATE,
      memberId: OLD_MEMBER,
      alarm: AlarmType.NOSPACE,
    }),
  });
  const body = collectBytes(snapshotFileBody(sm.snapshot()));
  const file = join(work, `old-${index}.snap`);
  writeFileSync(file, Buffer.concat([body, createHash('sha256').update(body).digest()]));
  return { file, sm };
}

function options(file: string, name: string, dataDir: string): RestoreMemberOptions {
  const self = CLUSTER.find((m) => m.name === name)!;
  return {
    snapshotPath: file,
    name,
    initialCluster: CLUSTER,
    initialClusterToken: TOKEN,
    initialAdvertisePeerUrls: self.peerUrls,
    dataDir,
    logger: silentLogger(),
  };
}

describe('restoreMember', () => {
  const old = oldSnapshotFile();

  test('writes the folder of a member that installed the snapshot under the new membership', async () => {
    const dataDir = join(work, 'b');
    const restored = await restoreMember(options(old.file, 'b', dataDir));
    const ids = CLUSTER.map((m) => memberIdOf(m.peerUrls, TOKEN));
    const clusterId = clusterIdOf(ids, TOKEN);
    const oldStore = old.sm.kv.store;
    expect(restored).toMatchObject({
      memberId: ids[1],
      clusterId,
      index: old.sm.appliedIndex,
      revision: oldStore.currentRevision,
      keys: 2,
      leases: 1,
      alarmsDropped: 1,
      oldMembers: 1,
    });

    const { storage, recovered } = await LevelStorage.open(dataDir, {
      logger: silentLogger(),
      toOps: membershipWritesToOps,
    });
    try {
      const rs = storage.raftStorage;
      expect(rs.snapshot().metadata).toEqual({
        index: old.sm.appliedIndex,
        term: 1,
        confState: { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      });
      expect(rs.initialState().hardState).toEqual({ term: 1, vote: 0, commit: old.sm.appliedIndex });
      expect(recovered.appliedIndex).toBe(old.sm.appliedIndex);
      const sm = await recoverMembershipStateMachine(recovered);
      expect(sm.kv.store.hashKV()).toEqual(oldStore.hashKV());
      expect(allKeys(sm.kv.store)).toEqual(allKeys(oldStore));
      expect(allKeys(sm.kv.store).map((kv) => kv.key)).toEqual(['/cairn/locks/x', 'k']);
      expect(sm.kv.store.leases()).toEqual([{ id: 42, ttlSeconds: 90 }]);
      expect(sm.registry.clusterId).toBe(clusterId);
      expect(sm.registry.list()).toEqual(
        CLUSTER.map((m, i) => ({ id: ids[i]!, name: m.name, peerUrls: m.peerUrls, isLearner: false })).sort(
          (x, y) => x.id - y.id,
        ),
      );
      expect(sm.registry.isRemoved(OLD_MEMBER)).toBe(false);
      expect(sm.registry.get(OLD_MEMBER)).toBeUndefined();
      expect([...sm.kv.members.keys()]).toEqual([]);
      expect(sm.kv.alarms.list()).toEqual([]);
      // The stored raft snapshot is metadata only; a peer is sent one made from the state
      // machine the folder holds, and installs the same content.
      expect(rs.snapshot().data.byteLength).toBe(0);
      const fromSnapshot = new MembershipStateMachine(
        new KvStateMachine(new MvccStore(), 0),
        new MemberRegistry(),
      );
      fromSnapshot.restore(old.sm.appliedIndex, collectBytes(sm.snapshot()));
      expect(fromSnapshot.kv.store.hashKV()).toEqual(oldStore.hashKV());
      expect(fromSnapshot.registry.state()).toEqual(sm.registry.state());
    } finally {
      await storage.close();
    }
  });

  test('refuses a damaged file, a used folder and flags that do not name this member, writing nothing', async () => {
    const bytes = readFileSync(old.file);
    const flipped = Buffer.from(bytes);
    flipped[20]! ^= 1;
    const damaged = join(work, 'damaged.snap');
    writeFileSync(damaged, flipped);
    const dir = join(work, 'never');
    await expect(restoreMember(options(damaged, 'a', dir))).rejects.toMatchObject({
      code: ErrorCode.CORRUPT,
      message: expect.stringMatching(/SHA-256.*damaged/),
    });
    expect(existsSync(dir)).toBe(false);

    const used = join(work, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'x'), '');
    await expect(restoreMember(options(old.file, 'a', used))).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
      message: expect.stringMatching(/not empty/),
    });
    await expect(restoreMember({ ...options(old.file, 'a', dir), name: 'z' })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(
      restoreMember({ ...options(old.file, 'a', dir), initialAdvertisePeerUrls: ['http://10.0.0.9:2380'] }),
    ).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
      message: expect.stringMatching(/advertise/),
    });
    expect(existsSync(dir)).toBe(false);
  });
});
