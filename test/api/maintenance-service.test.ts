/**
 * Proves the Maintenance handlers over a fake backend, with etcd's statuses and strings:
 * Status lists "no leader" and each alarm as etcd prints it; Alarm validates and passes the
 * request on; HashKV reports the hashed revision and compaction revision, and maps a
 * compacted revision to OutOfRange; MoveLeader refuses on a follower and for a non-voter,
 * waits for the move, and times out with etcd's text (at once when raft abandoned the transfer); the snapshot stream sends 32 KiB
 * chunks with the bytes remaining and ends with their SHA-256 in a 512-aligned file that
 * reads back; and the space quota refuses writes that would pass it, raising NOSPACE once.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, test } from 'vitest';
import type { ClusterInfo } from '../../src/api/cluster-info.js';
import {
  maintenanceHandlers,
  SNAPSHOT_CHUNK_BYTES,
  streamSnapshot,
} from '../../src/api/maintenance-service.js';
import type { LeadershipPort, MaintenanceBackend } from '../../src/api/ports.js';
import { SpaceQuota, txnPutBytes } from '../../src/api/space-quota.js';
import { CairnError, ErrorCode, isCairnError } from '../../src/common/errors.js';
import { eagerBytes } from '../../src/common/lazy-bytes.js';
import { silentLogger } from '../../src/common/logger.js';
import { type AlarmMember, type AlarmRequest, AlarmType } from '../../src/node/alarms.js';
import { readSnapshotFile, snapshotFileBody } from '../../src/storage/snapshot-file.js';

const INFO: ClusterInfo = { clusterId: 77, memberId: 1, members: [] };
const HEADER = { cluster_id: 77, member_id: 1, revision: 9, raft_term: 3 };

function leadership(over: Partial<LeadershipPort> = {}): LeadershipPort {
  return {
    selfId: 1,
    pollIntervalMs: 5,
    leader: () => 1,
    isVoter: (id) => [1, 2, 3].includes(id),
    transferLeadership: () => {},
    // A transfer stays under way: only the deadline or the new leader ends the wait.
    transferring: () => true,
    ...over,
  };
}

function backend(over: Partial<MaintenanceBackend> = {}): MaintenanceBackend {
  return {
    header: () => HEADER,
    status: () => ({
      leader: 1,
      term: 3,
      commitIndex: 20,
      appliedIndex: 19,
      revision: 9,
      isLearner: false,
      dataSizeBytes: 4096,
    }),
    activeAlarms: () => [],
    alarm: async () => [],
    defragment: async () => {},
    hash: () => 1234,
    hashKV: () => ({ hash: 42, hashRevision: 7, compactRevision: 3 }),
    snapshot: () => eagerBytes(new Uint8Array(0)),
    requestTimeoutMs: 1000,
    leadership: leadership(),
    ...over,
  };
}

type Reply = { err: (Error & { code?: number; details?: string }) | null; value?: unknown };

function call(b: MaintenanceBackend, method: string, request: unknown = {}): Promise<Reply> {
  const handlers = maintenanceHandlers(INFO, b) as unknown as Record<
    string,
    (call: unknown, cb: (err: Error | null, value?: unknown) => void) => void
  >;
  return new Promise((resolve) => handlers[method]!({ request }, (err, value) => resolve({ err, value })));
}

describe('Maintenance handlers', () => {
  test('Status reports dbSize, no leader, and each alarm as etcd prints an AlarmMember', async () => {
    const alarms: AlarmMember[] = [{ memberId: 12345, alarm: AlarmType.NOSPACE }];
    const ok = await call(backend({ activeAlarms: () => alarms }), 'Status');
    expect(ok.value).toMatchObject({ dbSize: 4096, leader: 1, raftIndex: 20, raftAppliedIndex: 19 });
    expect((ok.value as { errors: string[] }).errors).toEqual(['memberID:12345 alarm:NOSPACE ']);
    const b = backend();
    const noLeader = await call({ ...b, status: () => ({ ...b.status(), leader: 0 }) }, 'Status');
    expect((noLeader.value as { errors: string[] }).errors).toEqual(['etcdserver: no leader']);
  });

  test('Alarm passes a valid request on and refuses an unknown action or type', async () => {
    const seen: AlarmRequest[] = [];
    const b = backend({
      alarm: async (r) => {
        seen.push(r);
        return [{ memberId: r.memberId, alarm: r.alarm }];
      },
    });
    const ok = await call(b, 'Alarm', { action: 2, memberID: 5, alarm: 1 });
    expect(seen).toEqual([{ action: 2, memberId: 5, alarm: 1 }]);
    expect(ok.value).toEqual({ header: HEADER, alarms: [{ memberID: 5, alarm: 1 }] });
    const bad = await call(b, 'Alarm', { action: 7, memberID: 5, alarm: 1 });
    expect(bad.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test('Hash and HashKV answer the hash, the hashed revision and the compaction revision', async () => {
    expect((await call(backend(), 'Hash')).value).toEqual({ header: HEADER, hash: 1234 });
    const kv = await call(backend(), 'HashKV', { revision: 7 });
    expect(kv.value).toEqual({ header: { ...HEADER, revision: 7 }, hash: 42, compact_revision: 3 });
    const compacted = await call(
      backend({
        hashKV: () => {
          throw new CairnError(ErrorCode.COMPACTED, 'x');
        },
      }),
      'HashKV',
      { revision: 1 },
    );
    expect(compacted.err?.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(compacted.err?.details).toBe('etcdserver: mvcc: required revision has been compacted');
  });

  test('Defragment answers after the backend is done', async () => {
    let done = false;
    const defragment = async () => {
      await new Promise((r) => setTimeout(r, 5));
      done = true;
    };
    const r = await call(backend({ defragment }), 'Defragment');
    expect(done).toBe(true);
    expect(r.value).toEqual({ header: HEADER });
  });
});

describe('MoveLeader', () => {
  test('a follower answers FailedPrecondition "etcdserver: not leader"', async () => {
    const r = await call(backend({ leadership: leadership({ leader: () => 2 }) }), 'MoveLeader', {
      targetID: 3,
    });
    expect(r.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(r.err?.details).toBe('etcdserver: not leader');
  });

  test('a target that is not a voter is a bad leader transferee', async () => {
    const r = await call(backend(), 'MoveLeader', { targetID: 9 });
    expect(r.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(r.err?.details).toBe('etcdserver: bad leader transferee');
  });

  test('the leader transfers and answers once the target leads', async () => {
    let leader = 1;
    const asked: number[] = [];
    const port = leadership({
      leader: () => leader,
      transferLeadership: (to) => {
        asked.push(to);
        setTimeout(() => {
          leader = to;
        }, 20);
      },
    });
    const r = await call(backend({ leadership: port }), 'MoveLeader', { targetID: 3 });
    expect(r.err).toBeNull();
    expect(asked).toEqual([3]);
    expect(leader).toBe(3);
  });

  test('a transfer raft abandoned is answered with the timeout at once, not at the deadline', async () => {
    let checks = 0;
    const port = leadership({
      // Raft gives the transfer up after a few ticks (the target did not catch up); this member still leads.
      transferring: () => ++checks < 3,
    });
    const r = await call(backend({ leadership: port, requestTimeoutMs: 600_000 }), 'MoveLeader', {
      targetID: 2,
    });
    expect(r.err?.code).toBe(grpc.status.UNKNOWN);
    expect(r.err?.details).toBe('etcdserver: request timed out, leader transfer took too long');
    expect(checks).toBe(3);
  });

  test("a transfer that does not finish in time answers etcd's leader transfer timeout", async () => {
    const r = await call(backend({ requestTimeoutMs: 30 }), 'MoveLeader', { targetID: 2 });
    expect(r.err?.code).toBe(grpc.status.UNKNOWN);
    expect(r.err?.details).toBe('etcdserver: request timed out, leader transfer took too long');
  });
});

describe('Snapshot stream', () => {
  test('sends 32 KiB chunks with the bytes remaining, then the SHA-256 of them all; the file reads back', async () => {
    const snapshot = new Uint8Array(100_000).map((_, i) => i % 251);
    const body = snapshotFileBody(eagerBytes(snapshot));
    expect(body.byteLength % 512).toBe(0);
    const sent: { remaining_bytes: number; blob: Buffer }[] = [];
    const fake = {
      cancelled: false,
      ended: false,
      write(m: unknown) {
        sent.push(m as { remaining_bytes: number; blob: Buffer });
        return true;
      },
      end() {
        this.ended = true;
      },
      once: () => fake,
      removeListener: () => fake,
      emit: () => true,
    };
    await streamSnapshot(fake, body, HEADER);
    expect(fake.ended).toBe(true);
    const chunks = sent.slice(0, -1);
    expect(chunks.length).toBe(Math.ceil(body.byteLength / SNAPSHOT_CHUNK_BYTES));
    expect(
      chunks.every((c, i) => i === chunks.length - 1 || c.blob.byteLength === SNAPSHOT_CHUNK_BYTES),
    ).toBe(true);
    expect(chunks.map((c) => c.remaining_bytes).at(-1)).toBe(0);
    expect(chunks[0]!.remaining_bytes).toBe(body.byteLength - SNAPSHOT_CHUNK_BYTES);
    const file = Buffer.concat(sent.map((m) => m.blob));
    const digest = createHash('sha256')
      .update(file.subarray(0, file.byteLength - 32))
      .digest();
    expect(Buffer.compare(digest, file.subarray(file.byteLength - 32))).toBe(0);
    expect(Buffer.from(readSnapshotFile(file)).equals(Buffer.from(snapshot))).toBe(true);
    file[100] = (file[100]! + 1) % 256;
    expect(() => readSnapshotFile(file)).toThrow(/SHA-256/);
  });
});

describe('SpaceQuota', () => {
  test('refuses a write that would pass the quota and raises NOSPACE once while raising', async () => {
    let size = 900;
    let raised = 0;
    let active = false;
    const quota = new SpaceQuota({
      quotaBytes: 1000,
      refreshIntervalMs: 60_000,
      measureBytes: async () => size,
      alarmRaised: () => active,
      raiseAlarm: async () => {
        raised++;
        await new Promise((r) => setTimeout(r, 10));
        active = true;
      },
      logger: silentLogger(),
    });
    await quota.refresh();
    expect(quota.dbSizeBytes).toBe(900);
    quota.check(100);
    const refusals = [0, 1].map(() => {
      try {
        quota.check(101);
        return undefined;
      } catch (err) {
        return err;
      }
    });
    expect(refusals.every((e) => isCairnError(e, ErrorCode.NO_SPACE))).toBe(true);
    expect(raised).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    size = 2000;
    await quota.refresh();
    expect(raised).toBe(1); // already active
    active = false;
    await quota.refresh();
    expect(raised).toBe(2);
    quota.stop();
  });

  test('a Txn costs the bytes of its puts, nested ones included', () => {
    const k = new Uint8Array(3);
    const v = new Uint8Array(10);
    expect(
      txnPutBytes({
        success: [{ requestPut: { key: k, value: v } }, { requestRange: { key: k } }],
        failure: [{ requestTxn: { success: [{ requestPut: { key: k, value: v } }] } }],
      }),
    ).toBe(26);
    expect(txnPutBytes({ success: [{ requestDeleteRange: { key: k } }] })).toBe(0);
  });
});
