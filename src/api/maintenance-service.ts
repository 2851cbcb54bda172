/**
 * etcd's Maintenance service: Status (as etcdctl `endpoint status` reads it), Alarm (through
 * raft), Defragment, Hash, HashKV, Snapshot (a server stream in 32 KiB chunks ending with the
 * SHA-256 of the content, as etcd sends it) and MoveLeader. Everything it needs from the
 * member comes through MaintenanceBackend.
 */
import { createHash } from 'node:crypto';
import { CairnError, ErrorCode } from '../common/errors.js';
import { chunkedBytes, type LazyBytes } from '../common/lazy-bytes.js';
import { AlarmAction, type AlarmMember, AlarmType } from '../node/alarms.js';
import type { ClusterInfo } from './cluster-info.js';
import { toGrpcError } from './errors.js';
import { responseHeader } from './header.js';
import { moveLeader } from './move-leader.js';
import type { MaintenanceBackend } from './ports.js';

/** The etcd API version Cairn reports (the wire level it implements). */
export const ETCD_API_VERSION = '3.4.0';

/** Bytes of snapshot per streamed message (etcd's snapshotSendBufferSize). */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

type Callback = (err: Error | null, value?: unknown) => void;
// biome-ignore lint/suspicious/noExplicitAny: gRPC calls carry decoded wire objects
type UnaryCall = { request: any; getDeadline?: () => Date | number };
type Handler = (call: UnaryCall, cb: Callback) => void;

/** The part of grpc-js's ServerWritableStream the snapshot stream uses. */
interface SnapshotCall {
  readonly cancelled: boolean;
  write(message: unknown): boolean;
  end(): void;
  once(event: 'drain' | 'cancelled', listener: () => void): unknown;
  removeListener(event: 'drain' | 'cancelled', listener: () => void): unknown;
  emit(event: 'error', err: Error): boolean;
}

function unary(fn: (call: UnaryCall) => Promise<unknown> | unknown): Handler {
  return (call, cb) => {
    Promise.resolve()
      .then(() => fn(call))
      .then(
        (res) => cb(null, res),
        (err: unknown) => cb(toGrpcError(err)),
      );
  };
}

/** Status's `errors` entry for an alarm, as etcd prints an AlarmMember (protobuf compact text). */
export function alarmStatusString(m: AlarmMember): string {
  return `memberID:${m.memberId} alarm:${AlarmType[m.alarm]} `;
}

function wireAlarms(alarms: readonly AlarmMember[]): { memberID: number; alarm: number }[] {
  return alarms.map((m) => ({ memberID: m.memberId, alarm: m.alarm }));
}

function safeId(v: unknown, what: string): number {
  const n = Number(v ?? 0);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, `etcdserver: ${what} is out of range`);
  return n;
}

/** Milliseconds left before the call's deadline, at most ceilingMs. */
function timeLeftMs(call: UnaryCall, ceilingMs: number): number {
  const d = call.getDeadline?.();
  const at = d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Number.POSITIVE_INFINITY;
  return Math.max(0, Math.min(ceilingMs, at - Date.now()));
}

async function writeWithBackpressure(call: SnapshotCall, message: unknown): Promise<void> {
  if (call.write(message)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      call.removeListener('drain', done);
      call.removeListener('cancelled', done);
      resolve();
    };
    call.once('drain', done);
    call.once('cancelled', done);
  });
}

/**
 * Streams the snapshot: chunks with the bytes still to come, then one message with the
 * SHA-256 of them all. Each chunk's bytes are made only once the call took the one before.
 */
export async function streamSnapshot(call: SnapshotCall, data: LazyBytes, header: unknown): Promise<void> {
  const sha = createHash('sha256');
  let remaining = data.byteLength;
  for (const chunk of chunkedBytes(data, SNAPSHOT_CHUNK_BYTES)) {
    if (call.cancelled) return;
    remaining -= chunk.byteLength;
    sha.update(chunk);
    await writeWithBackpressure(call, { header, remaining_bytes: remaining, blob: Buffer.from(chunk) });
  }
  if (call.cancelled) return;
  await writeWithBackpressure(call, { header, remaining_bytes: 0, blob: sha.digest() });
  call.end();
}

/** Handlers for etcdserverpb.Maintenance. */
export function maintenanceHandlers(
  info: ClusterInfo,
  backend: MaintenanceBackend,
): Record<string, (call: never, cb: Callback) => void> {
  return {
    Status: unary(() => {
      const s = backend.status();
      const errors: string[] = [];
      if (s.leader === 0) errors.push('etcdserver: no leader');
      for (const a of backend.activeAlarms()) errors.push(alarmStatusString(a));
      return {
        header: responseHeader(info, s),
        version: ETCD_API_VERSION,
        dbSize: s.dataSizeBytes,
        leader: s.leader,
        raftIndex: s.commitIndex,
        raftTerm: s.term,
        raftAppliedIndex: s.appliedIndex,
        errors,
        dbSizeInUse: s.dataSizeBytes,
        isLearner: s.isLearner,
      };
    }),
    Alarm: unary(async (call) => {
      const w = call.request as { action?: number; memberID?: number; alarm?: number };
      const action = Number(w.action ?? 0);
      const alarm = Number(w.alarm ?? 0);
      if (AlarmAction[action] === undefined || AlarmType[alarm] === undefined)
        throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'etcdserver: unknown alarm action or type');
      const alarms = await backend.alarm({
        action: action as AlarmAction,
        memberId: safeId(w.memberID, 'member ID'),
        alarm: alarm as AlarmType,
      });
      return { header: backend.header(), alarms: wireAlarms(alarms) };
    }),
    Defragment: unary(async () => {
      await backend.defragment();
      return { header: backend.header() };
    }),
    Hash: unary(() => ({ header: backend.header(), hash: backend.hash() })),
    HashKV: unary((call) => {
      const revision = Number((call.request as { revision?: number }).revision ?? 0);
      if (!Number.isSafeInteger(revision))
        throw new CairnError(ErrorCode.INVALID_ARGUMENT, 'etcdserver: revision is out of range');
      const r = backend.hashKV(revision);
      return {
        header: { ...backend.header(), revision: r.hashRevision },
        hash: r.hash,
        compact_revision: r.compactRevision,
      };
    }),
    MoveLeader: unary(async (call) => {
      const target = safeId((call.request as { targetID?: number }).targetID, 'target ID');
      await moveLeader(backend.leadership, target, timeLeftMs(call, backend.requestTimeoutMs));
      return { header: backend.header() };
    }),
    Snapshot(call: SnapshotCall): void {
      let data: LazyBytes;
      try {
        data = backend.snapshot();
      } catch (err) {
        call.emit('error', toGrpcError(err));
        return;
      }
      streamSnapshot(call, data, backend.header()).catch((err: unknown) =>
        call.emit('error', toGrpcError(err)),
      );
    },
  } as Record<string, (call: never, cb: Callback) => void>;
}
